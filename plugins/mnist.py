"""The MNIST dataset (LeCun & Cortes), from IDX files or Keras's ``mnist.npz``.

Where the files are looked for, in order: the recipe's ``path`` (and only there, when
given); ``$GANLAB_DATA/mnist`` if that is set; the Keras cache (``$KERAS_HOME/datasets``
or ``~/.keras/datasets``, where ``keras.datasets.mnist`` keeps ``mnist.npz``); without
``$GANLAB_DATA``, ``~/.ganlab/data/mnist``, where earlier downloads went; and last a
download of the IDX files into ``$GANLAB_DATA/mnist`` or ``~/.ganlab/data/mnist``. A
downloaded file is kept only when its MD5 matches. A damaged file is an error naming it,
never a partial dataset.

Only the standard library is imported at module level; numpy and urllib are imported
where they are used, so ``ganlab list`` stays fast.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Literal

from ganlab import GanlabError, ImageData, hookimpl

#: The IDX files of each split, images then labels.
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: The arrays of each split in Keras's ``mnist.npz``.
NPZ_KEYS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
#: MD5 sums of the official files; a download that does not match is discarded.
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbf67e10fb",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
#: Tried in order; ``$GANLAB_MNIST_MIRROR`` (base URLs separated by spaces) replaces them.
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
#: Big-endian IDX magic numbers: 0x08 is unsigned bytes, the last byte the number of dims.
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
TIMEOUT_S = 30


@hookimpl
def register_datasets(register):
    register("mnist", mnist)


def mnist(split: Literal["train", "test"] = "train", path: str | None = None, download: bool = True) -> ImageData:
    """MNIST handwritten digits (LeCun & Cortes), 28x28 grayscale, IDX or Keras mnist.npz.

    Parameters:
        split: ``train`` (60,000 images) or ``test`` (10,000 images).
        path: a folder holding the split's IDX files (``.gz`` or uncompressed) or Keras's
            ``mnist.npz``. When given, only this folder is read; otherwise ganlab looks in
            ``$GANLAB_DATA/mnist``, the Keras cache and ``~/.ganlab/data/mnist``.
        download: when no files are found, download the IDX files (MD5-checked) into
            ``$GANLAB_DATA/mnist`` or ``~/.ganlab/data/mnist``.
    """
    if split not in FILES:
        raise GanlabError(f"data.split: expected 'train' or 'test', found {split!r}")
    wanted = " and ".join(FILES[split])
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise GanlabError(f"data.path {folder}: not a folder; point it at the folder holding {wanted} or mnist.npz")
        found = _read_folder(folder, split)
        if found is None:
            raise GanlabError(f"data.path {folder}: no MNIST {split} files there; put {wanted} (or mnist.npz) in it")
        return found
    for folder in _search_folders():
        found = _read_folder(folder, split)
        if found is not None:
            return found
    target = download_folder()
    if not download:
        raise GanlabError(f"MNIST {split} files not found and data.download is false: put {wanted} in {target}, or set data.path in the recipe")
    _download(split, target)
    return _read_folder(target, split)


def download_folder() -> Path:
    """Where downloads go: ``$GANLAB_DATA/mnist``, else ``~/.ganlab/data/mnist``."""
    base = os.environ.get("GANLAB_DATA")
    return Path(base).expanduser() / "mnist" if base else Path.home() / ".ganlab" / "data" / "mnist"


def _search_folders() -> list[Path]:
    """Where to look when no path is given; ``download_folder()`` is one of them."""
    keras_cache = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets"
    if os.environ.get("GANLAB_DATA"):
        return [download_folder(), keras_cache]
    return [keras_cache, download_folder()]


def _read_folder(folder: Path, split: str) -> ImageData | None:
    """The split from the IDX files or ``mnist.npz`` in ``folder``; None if neither is there."""
    images_path, labels_path = (_find(folder, name) for name in FILES[split])
    if images_path and labels_path:
        images = _read_idx(images_path, IMAGES_MAGIC)
        labels = _read_idx(labels_path, LABELS_MAGIC)
        if len(images) != len(labels):
            raise GanlabError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}; replace the files")
        return ImageData(images[..., None], labels, f"mnist {split} ({len(images)} images from {folder})")
    if (folder / "mnist.npz").is_file():
        return _read_npz(folder / "mnist.npz", split)
    return None


def _find(folder: Path, name: str) -> Path | None:
    """``folder/name``, or its uncompressed twin without ``.gz``."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path, magic: int):
    """Parse one IDX file of unsigned bytes, checking its header against its size."""
    import numpy as np

    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise GanlabError(f"{path}: cannot read ({type(exc).__name__}: {exc}); the file is damaged, replace it") from None
    dims = magic & 0xFF
    header = 4 + 4 * dims
    if len(raw) < header or struct.unpack(">I", raw[:4])[0] != magic:
        kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise GanlabError(f"{path}: not an MNIST {kind} IDX file (magic number {raw[:4].hex() or 'missing'}, expected {magic:08x}); replace it")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise GanlabError(f"{path}: header says {shape} ({expected} bytes) but the file holds {len(raw)} bytes; it is truncated or damaged, replace it")
    if dims == 3 and shape[1:] != (28, 28):
        raise GanlabError(f"{path}: images are {shape[1]}x{shape[2]}, MNIST's are 28x28; replace it")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape).copy()


def _read_npz(path: Path, split: str) -> ImageData:
    """The split from Keras's ``mnist.npz`` (arrays x_train, y_train, x_test, y_test)."""
    import numpy as np

    x_key, y_key = NPZ_KEYS[split]
    try:
        with np.load(path) as arrays:
            missing = [key for key in (x_key, y_key) if key not in arrays.files]
            if missing:
                raise GanlabError(f"{path}: no array {' or '.join(missing)} in it (found {', '.join(arrays.files) or 'none'}); it is not Keras's mnist.npz")
            images, labels = arrays[x_key], arrays[y_key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise GanlabError(f"{path}: cannot read ({type(exc).__name__}: {exc}); the file is damaged, replace it") from None
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise GanlabError(
            f"{path}: {x_key} is {images.dtype} {images.shape} and {y_key} {labels.shape}; expected uint8 (n, 28, 28) and (n,), replace the file"
        )
    return ImageData(images[..., None], labels, f"mnist {split} ({len(images)} images from {path})")


def _download(split: str, folder: Path) -> None:
    """Fetch the split's missing IDX files into ``folder``, trying each mirror in turn.

    Each file is streamed into a temporary file beside its target and renamed into place
    only when its MD5 matches, so an interrupted or tampered download never looks like data.
    """
    mirrors = os.environ.get("GANLAB_MNIST_MIRROR", "").split() or MIRRORS
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanlabError(f"cannot create {folder} for the MNIST download ({exc.strerror}): set GANLAB_DATA or data.path in the recipe") from None
    for name in FILES[split]:
        if (folder / name).is_file():
            continue
        errors = []
        for mirror in mirrors:
            error = _fetch(mirror.rstrip("/") + "/" + name, folder / name)
            if error is None:
                break
            errors.append(error)
        else:
            raise GanlabError(
                f"cannot download MNIST ({'; '.join(errors)}): put {' and '.join(FILES[split])} in {folder}, or set data.path in the recipe"
            )


def _fetch(url: str, target: Path) -> str | None:
    """Download ``url`` to ``target`` if its MD5 is ``MD5[target.name]``; else return why not."""
    import urllib.error
    import urllib.request

    digest, tmp = hashlib.md5(), None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != MD5[target.name]:
            return f"{url}: MD5 {digest.hexdigest()}, expected {MD5[target.name]}"
        os.replace(tmp, target)
        return None
    except urllib.error.HTTPError as exc:  # before URLError, its base: "HTTP Error 404: Not Found"
        return f"{url}: {exc}"
    except urllib.error.URLError as exc:
        return f"{url}: URLError: {exc.reason}"
    except (OSError, ValueError) as exc:  # timeouts, dropped connections, unwritable folder, bad URL
        return f"{url}: {type(exc).__name__}: {exc}"
    finally:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
