"""The MNIST dataset (LeCun & Cortes), from IDX files or Keras's ``mnist.npz``.

Where the files are looked for, in order: the recipe's ``path``; ``$GANLAB_DATA/mnist``;
the Keras cache (``$KERAS_HOME`` or ``~/.keras``, ``datasets/mnist.npz``); then a download
of the IDX files, checked against known MD5 sums, into ``$GANLAB_DATA/mnist`` or
``~/.ganlab/data/mnist``. A damaged file is an error naming it, never a partial dataset.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Literal

from ganlab import GanlabError, ImageData, hookimpl

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbf67e10fb",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801


def mnist(split: Literal["train", "test"] = "train", path: str | None = None, download: bool = True) -> ImageData:
    """MNIST handwritten digits, 28x28 grayscale (train: 60,000 images, test: 10,000).

    split: ``train`` or ``test``.
    path: a folder holding the IDX files (gzipped or not) or ``mnist.npz``; when given,
        only this folder is used.
    download: fetch the IDX files from the standard mirrors when they are not found.
    """
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise GanlabError(f"data.path {folder}: no such folder; point it at the folder holding the MNIST files")
        found = _read_folder(folder, split)
        if found is None:
            raise GanlabError(f"data.path {folder}: no MNIST {split} files there; put {' and '.join(FILES[split])} (or mnist.npz) in it")
        return found
    for folder in _search_folders():
        found = _read_folder(folder, split)
        if found is not None:
            return found
    if not download:
        raise GanlabError(f"MNIST {split} files not found and data.download is false: put {' and '.join(FILES[split])} in {download_folder()}, or set data.path")
    _download(split, download_folder())
    return _read_folder(download_folder(), split)


def _search_folders():
    if os.environ.get("GANLAB_DATA"):
        yield Path(os.environ["GANLAB_DATA"]) / "mnist"
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    yield keras_home / "datasets"


def download_folder() -> Path:
    base = os.environ.get("GANLAB_DATA")
    return Path(base) / "mnist" if base else Path.home() / ".ganlab" / "data" / "mnist"


def _read_folder(folder: Path, split) -> ImageData | None:
    """The split from IDX files or mnist.npz in ``folder``; None if neither is there."""
    images_name, labels_name = FILES[split]
    images_path, labels_path = _find(folder, images_name), _find(folder, labels_name)
    if images_path and labels_path:
        images = _read_idx(images_path, IMAGES_MAGIC).reshape(-1, 28, 28, 1)
        labels = _read_idx(labels_path, LABELS_MAGIC)
        if len(images) != len(labels):
            raise GanlabError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}; replace the files")
        return ImageData(images, labels, f"mnist {split} ({len(images)} images from {folder})")
    if (folder / "mnist.npz").is_file():
        return _read_npz(folder / "mnist.npz", split)
    return None


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path, magic: int):
    """Parse one IDX file, checking its header against its size."""
    import numpy as np

    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise GanlabError(f"{path}: cannot read ({type(exc).__name__}: {exc}); the file is damaged, replace it") from None
    dims = magic & 0xFF
    if len(raw) < 4 + 4 * dims or struct.unpack(">I", raw[:4])[0] != magic:
        raise GanlabError(f"{path}: not an MNIST IDX file of the expected kind (magic number {raw[:4].hex() or 'missing'}, expected {magic:08x})")
    shape = struct.unpack(f">{dims}I", raw[4 : 4 + 4 * dims])
    expected = 4 + 4 * dims + int(np.prod(shape))
    if len(raw) != expected:
        raise GanlabError(f"{path}: header says {shape} ({expected} bytes) but the file holds {len(raw)} bytes; it is truncated or damaged, replace it")
    if dims == 3 and shape[1:] != (28, 28):
        raise GanlabError(f"{path}: images are {shape[1]}x{shape[2]}, MNIST's are 28x28")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape).copy()


def _read_npz(path: Path, split) -> ImageData:
    import numpy as np

    keys = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}[split]
    try:
        with np.load(path) as f:
            images, labels = f[keys[0]], f[keys[1]]
    except KeyError as exc:
        raise GanlabError(f"{path}: no array {exc} in it; it is not Keras's mnist.npz") from None
    except Exception as exc:
        raise GanlabError(f"{path}: cannot read ({type(exc).__name__}: {exc}); the file is damaged, replace it") from None
    if images.shape[1:] != (28, 28) or images.dtype != np.uint8 or len(images) != len(labels):
        raise GanlabError(f"{path}: {keys[0]} has shape {images.shape} ({images.dtype}) with {len(labels)} labels; expected (n, 28, 28) uint8 and n labels")
    return ImageData(images[..., None], labels, f"mnist {split} ({len(images)} images from {path})")


def _download(split, folder: Path) -> None:
    """Fetch the split's IDX files, verifying each against its MD5 before it is kept."""
    mirrors = [os.environ["GANLAB_MNIST_MIRROR"]] if os.environ.get("GANLAB_MNIST_MIRROR") else list(MIRRORS)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanlabError(f"cannot create {folder} for the MNIST download ({exc.strerror}): set GANLAB_DATA or data.path") from None
    for name in FILES[split]:
        target = folder / name
        if target.is_file():
            continue
        errors = []
        for mirror in mirrors:
            try:
                with urllib.request.urlopen(mirror.rstrip("/") + "/" + name, timeout=30) as response:
                    payload = response.read()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
                continue
            digest = hashlib.md5(payload).hexdigest()
            if digest != MD5[name]:
                errors.append(f"{name} from {mirror} has MD5 {digest}, expected {MD5[name]}")
                continue
            tmp = target.with_name(name + ".part")
            tmp.write_bytes(payload)
            os.replace(tmp, target)
            break
        else:
            raise GanlabError(
                f"cannot download MNIST ({errors[-1]}): put {' and '.join(FILES[split])} in {folder}, or set data.path to a folder holding them"
            )


@hookimpl
def register_datasets(register):
    register("mnist", mnist)
