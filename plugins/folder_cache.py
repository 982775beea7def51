"""``image_folder``'s cache of decoded images, so that a folder is decoded once, not on every run.

The key is a SHA-256 of the files' relative paths and contents, the decoding parameters
and ``VERSION``: reading and hashing the files costs a fraction of decoding them (numbers
in docs/datasets.md), and unlike sizes and modification times it cannot miss an edit. The entry,
``<cache>/image_folder/<digest>.npz`` (``$GANLAB_CACHE`` or ``~/.ganlab/cache``), holds the
decoded uint8 images and the indices of the files they come from (unreadable files that
``on_error: skip`` left out are not among them). It is written atomically; one that cannot
be read is decoded again and replaced, one that cannot be written is a warning.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

from ganlab.cache import cache_dir

#: Part of the key: bump it whenever ``folder_decode`` changes what a file decodes to.
VERSION = 1


def path(files: list[str], relative: list[tuple[str, ...]], params: dict) -> Path:
    """The cache entry of ``files`` (``relative``: their paths below the folder) decoded with ``params``."""

    digest = hashlib.sha256(json.dumps({"version": VERSION, **params}, sort_keys=True).encode())
    for f, parts in zip(files, relative):
        with open(f, "rb") as file:
            content = file.read()
        digest.update(f"\0{'/'.join(parts)}\0{len(content)}\0".encode())
        digest.update(content)
    return cache_dir() / "image_folder" / f"{digest.hexdigest()[:32]}.npz"


def load(entry: Path, image_shape: tuple) -> tuple | None:
    """(indices, images) from ``entry``; None when it is missing, unreadable or not of ``image_shape``."""
    import numpy as np

    try:
        with np.load(entry) as arrays:
            good, images = arrays["good"], arrays["images"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if images.dtype != np.uint8 or images.shape != (len(good), *image_shape):
        return None
    return good, images


def save(entry: Path, good, images) -> None:
    """Write the entry atomically; a cache that cannot be written costs the next run a decode, so it only warns."""
    import numpy as np

    from ganlab.rundir import atomic_path

    try:
        with atomic_path(entry) as tmp, open(tmp, "wb") as out:
            np.savez(out, good=good, images=images)
    except OSError as exc:
        print(
            f"ganlab: warning: data: cannot write the decoded-image cache {entry} ({exc.strerror or exc}); "
            "the images will be decoded again next run: set GANLAB_CACHE to a folder you can write",
            file=sys.stderr,
            flush=True,
        )
