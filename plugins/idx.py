"""Datasets in MNIST's IDX format (MNIST, Fashion-MNIST): finding, reading and downloading them.

An :class:`IdxDataset` describes one such dataset: its file names are MNIST's, its
checksums, mirrors and cache folders its own. Where its files are looked for, in order:
the recipe's ``path`` (and only there, when given); ``$GANLAB_DATA/<name>`` if that is
set; the folder where ``keras.datasets`` caches it (under ``$KERAS_HOME/datasets`` or
``~/.keras/datasets``); without ``$GANLAB_DATA``, ``~/.ganlab/data/<name>``, where
earlier downloads went; and last a download of the IDX files into
``$GANLAB_DATA/<name>`` or ``~/.ganlab/data/<name>``. A downloaded file is kept only when
its MD5 matches. A damaged file is an error naming it, never a partial dataset.

Only the standard library is imported at module level; numpy and urllib are imported
where they are used, so ``ganlab list`` stays fast.
"""

from __future__ import annotations

import dataclasses
import gzip
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Literal

from ganlab import GanlabError, ImageData
from ganlab_plugins.download import data_folder, download, mirrors, search_folders

#: The IDX files of each split, images then labels (the same names for every IDX dataset).
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: The arrays of each split in a Keras-style ``.npz`` (such as ``mnist.npz``).
NPZ_KEYS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
#: Big-endian IDX magic numbers: 0x08 is unsigned bytes, the last byte the number of dims.
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
BUILDER_DOC = """{summary}

Parameters:
    split: ``train`` (60,000 images) or ``test`` (10,000 images).
    path: a folder holding the split's IDX files (``.gz`` or uncompressed){or_npz}. When
        given, only this folder is read; otherwise ganlab looks in ``$GANLAB_DATA/{name}``,
        the Keras cache and ``~/.ganlab/data/{name}``.
    download: when no files are found, download the IDX files (MD5-checked) into
        ``$GANLAB_DATA/{name}`` or ``~/.ganlab/data/{name}``.
"""


@dataclasses.dataclass(frozen=True)
class IdxDataset:
    """One dataset of 28x28 grayscale images and labels, stored as MNIST stores them."""

    name: str  #: the component's name, also the folder under $GANLAB_DATA and ~/.ganlab/data
    title: str  #: how messages name it
    md5: dict  #: MD5 of each official file; a download that does not match is discarded
    mirrors: tuple  #: base URLs tried in order
    mirror_env: str  #: environment variable whose base URLs (separated by spaces) replace ``mirrors``
    keras_folder: str = ""  #: where keras.datasets caches it, relative to $KERAS_HOME/datasets
    npz: str | None = None  #: the name of Keras's single-file cache, if it has one

    def builder(self, summary: str):
        """The dataset's builder, registered under ``name``; ``summary`` is the first line of its docstring."""

        def build(
            split: Literal["train", "test"] = "train", path: str | None = None, download: bool = True
        ) -> ImageData:
            return self.load(split, path, download)

        build.__name__ = build.__qualname__ = self.name
        or_npz = f" or Keras's ``{self.npz}``" if self.npz else ""
        build.__doc__ = BUILDER_DOC.format(summary=summary, name=self.name, or_npz=or_npz)
        return build

    def load(self, split: str, path: str | None, download: bool) -> ImageData:
        """The split, from ``path`` only when given, else from the search folders or a download."""
        if split not in FILES:
            raise GanlabError(f"data.split: expected 'train' or 'test', found {split!r}")
        wanted = " and ".join(FILES[split])
        if path is not None:
            folder = Path(path).expanduser()
            if not folder.is_dir():
                or_npz = f" or {self.npz}" if self.npz else ""
                raise GanlabError(f"data.path {folder}: not a folder; point it at the folder holding {wanted}{or_npz}")
            found = self._read_folder(folder, split)
            if found is None:
                or_npz = f" (or {self.npz})" if self.npz else ""
                raise GanlabError(
                    f"data.path {folder}: no {self.title} {split} files there; put {wanted}{or_npz} in it"
                )
            return found
        for folder in search_folders(self.name, (self.keras_folder,)):
            found = self._read_folder(folder, split)
            if found is not None:
                return found
        target = data_folder(self.name)
        if not download:
            raise GanlabError(
                f"{self.title} {split} files not found and data.download is false: "
                f"put {wanted} in {target}, or set data.path in the recipe"
            )
        self._download(split, target)
        return self._read_folder(target, split)

    def _read_folder(self, folder: Path, split: str) -> ImageData | None:
        """The split from the IDX files (or the ``.npz``) in ``folder``; None if neither is there."""
        images_path, labels_path = (_find(folder, name) for name in FILES[split])
        if images_path and labels_path:
            images = self._read_idx(images_path, IMAGES_MAGIC)
            labels = self._read_idx(labels_path, LABELS_MAGIC)
            if len(images) != len(labels):
                raise GanlabError(
                    f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}; "
                    "replace the files"
                )
            return ImageData(images[..., None], labels, f"{self.name} {split} ({len(images)} images from {folder})")
        if self.npz and (folder / self.npz).is_file():
            return self._read_npz(folder / self.npz, split)
        return None

    def _read_idx(self, path: Path, magic: int):
        """Parse one IDX file of unsigned bytes, checking its header against its size."""
        import numpy as np

        try:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        except (OSError, EOFError, zlib.error) as exc:
            raise GanlabError(
                f"{path}: cannot read ({type(exc).__name__}: {exc}); the file is damaged, replace it"
            ) from None
        dims = magic & 0xFF
        header = 4 + 4 * dims
        if len(raw) < header or struct.unpack(">I", raw[:4])[0] != magic:
            kind = "images" if magic == IMAGES_MAGIC else "labels"
            found = raw[:4].hex() or "missing"
            raise GanlabError(
                f"{path}: not an IDX {kind} file of {self.title} "
                f"(magic number {found}, expected {magic:08x}); replace it"
            )
        shape = struct.unpack(f">{dims}I", raw[4:header])
        expected = header + int(np.prod(shape))
        if len(raw) != expected:
            raise GanlabError(
                f"{path}: header says {shape} ({expected} bytes) but the file holds {len(raw)} bytes; "
                "it is truncated or damaged, replace it"
            )
        if dims == 3 and shape[1:] != (28, 28):
            raise GanlabError(f"{path}: images are {shape[1]}x{shape[2]}, {self.title}'s are 28x28; replace it")
        return np.frombuffer(raw, np.uint8, offset=header).reshape(shape).copy()

    def _read_npz(self, path: Path, split: str) -> ImageData:
        """The split from a Keras-style ``.npz`` (arrays x_train, y_train, x_test, y_test)."""
        import numpy as np

        x_key, y_key = NPZ_KEYS[split]
        try:
            with np.load(path) as arrays:
                missing = [key for key in (x_key, y_key) if key not in arrays.files]
                if missing:
                    found = ", ".join(arrays.files) or "none"
                    raise GanlabError(
                        f"{path}: no array {' or '.join(missing)} in it (found {found}); it is not Keras's {self.npz}"
                    )
                images, labels = arrays[x_key], arrays[y_key]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise GanlabError(
                f"{path}: cannot read ({type(exc).__name__}: {exc}); the file is damaged, replace it"
            ) from None
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise GanlabError(
                f"{path}: {x_key} is {images.dtype} {images.shape} and {y_key} {labels.shape}; "
                "expected uint8 (n, 28, 28) and (n,), replace the file"
            )
        return ImageData(images[..., None], labels, f"{self.name} {split} ({len(images)} images from {path})")

    def _download(self, split: str, folder: Path) -> None:
        """Fetch the split's missing IDX files into ``folder``, trying each mirror in turn."""
        for name in FILES[split]:
            if (folder / name).is_file():
                continue
            errors = download(mirrors(self.mirror_env, self.mirrors), name, folder, self.md5[name], self.title)
            if errors:
                raise GanlabError(
                    f"cannot download {self.title} ({'; '.join(errors)}): "
                    f"put {' and '.join(FILES[split])} in {folder}, or set data.path in the recipe"
                )


def _find(folder: Path, name: str) -> Path | None:
    """``folder/name``, or its uncompressed twin without ``.gz``."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None
