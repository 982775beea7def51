"""The CIFAR-10 dataset (Krizhevsky 2009), from its official python archive ``cifar-10-python.tar.gz``.

The archive holds ``cifar-10-batches-py/data_batch_1`` .. ``data_batch_5`` (the train
split, 50,000 images) and ``test_batch`` (10,000): pickled dicts whose ``b"data"`` is
uint8 (n, 3072), each row a 32x32 image stored channel by channel (1024 red, then green,
then blue values, row-major), and whose ``b"labels"`` are 0..9 (``batches.meta`` names
them). Members are read straight from the archive, or from its extracted
``cifar-10-batches-py`` folder.

Where it is looked for: the recipe's ``path`` only, when given; else ``$GANLAB_DATA/cifar10``
(when set), the Keras cache (``$KERAS_HOME/datasets``, where ``keras.datasets.cifar10``
extracts it), ``~/.ganlab/data/cifar10`` (without ``$GANLAB_DATA``), and last one
MD5-checked download of the archive (``ganlab_plugins.download``).
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Literal

from ganlab import GanlabError, ImageData, hookimpl
from ganlab_plugins.download import data_folder, mirrors, search_folders
from ganlab_plugins.download import download as download_file  # ``download`` is the builder's parameter

ARCHIVE = "cifar-10-python.tar.gz"
#: The MD5 the dataset's page publishes for the archive; a download that does not match is discarded.
MD5 = "c58f30108f718f92721af3b95e74349a"
#: Tried in order; ``$GANLAB_CIFAR10_MIRROR`` (base URLs separated by spaces) replaces them.
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
MIRROR_ENV = "GANLAB_CIFAR10_MIRROR"
FOLDER = "cifar-10-batches-py"
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
#: Where keras.datasets.cifar10 leaves the extracted folder: Keras 3, then Keras 2.
KERAS_FOLDERS = ("cifar-10-batches-py-target", "")
SIDE = 32
#: The globals the official pickles need (numpy arrays and Python 2 strings); nothing else is unpickled.
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


@hookimpl
def register_datasets(register):
    register("cifar10", cifar10)


def cifar10(split: Literal["train", "test"] = "train", path: str | None = None, download: bool = True) -> ImageData:
    """CIFAR-10 (Krizhevsky 2009), 32x32 RGB, 10 labelled classes, from the official python archive.

    Parameters:
        split: ``train`` (50,000 images) or ``test`` (10,000 images).
        path: the archive ``cifar-10-python.tar.gz``, a folder holding it, or its extracted
            ``cifar-10-batches-py`` folder (or the folder above that). When given, only this
            is read; otherwise ganlab looks in ``$GANLAB_DATA/cifar10``, the Keras cache and
            ``~/.ganlab/data/cifar10``.
        download: when the archive is not found, download it (MD5-checked) into
            ``$GANLAB_DATA/cifar10`` or ``~/.ganlab/data/cifar10``.
    """
    if split not in BATCHES:
        raise GanlabError(f"data.split: expected 'train' or 'test', found {split!r}")
    if path is not None:
        given = Path(path).expanduser()
        source = given if given.is_file() else _source(given)
        if source is None:
            raise GanlabError(
                f"data.path {given}: neither {ARCHIVE} nor a {FOLDER} folder is there; point it at either"
            )
        return _read(source, split)
    for folder in search_folders("cifar10", KERAS_FOLDERS):
        source = _source(folder)
        if source is not None:
            return _read(source, split)
    target = data_folder("cifar10")
    if not download:
        raise GanlabError(
            f"CIFAR-10 not found and data.download is false: put {ARCHIVE} ({MIRRORS[0]}{ARCHIVE}) in {target}, "
            "or set data.path in the recipe"
        )
    errors = download_file(mirrors(MIRROR_ENV, MIRRORS), ARCHIVE, target, MD5, "CIFAR-10")
    if errors:
        raise GanlabError(
            f"cannot download CIFAR-10 ({'; '.join(errors)}): put {ARCHIVE} ({MIRRORS[0]}{ARCHIVE}) in {target}, "
            "or set data.path in the recipe"
        )
    return _read(target / ARCHIVE, split)


def _source(folder: Path) -> Path | None:
    """The archive or the extracted batches folder in ``folder`` (or ``folder`` itself if it is one)."""
    for candidate in (folder / ARCHIVE, folder / FOLDER, folder):
        if candidate.is_file() or (candidate / "batches.meta").is_file():
            return candidate
    return None


def _read(source: Path, split: str) -> ImageData:
    """The split from the archive or the extracted folder ``source``."""
    import numpy as np

    images, labels = [], []
    try:
        if source.is_dir():
            for name in BATCHES[split]:
                member = source / name
                if not member.is_file():
                    raise GanlabError(f"{source}: no {name} in it; the folder is incomplete, extract {ARCHIVE} again")
                _add(member.read_bytes(), member, images, labels)
        else:
            with tarfile.open(source, "r:gz") as archive:
                for name in BATCHES[split]:
                    try:
                        member = archive.extractfile(f"{FOLDER}/{name}")
                    except KeyError:
                        member = None
                    if member is None:
                        raise GanlabError(
                            f"{source}: no {FOLDER}/{name} in it; it is not the CIFAR-10 python archive, replace it"
                        )
                    _add(member.read(), source, images, labels, f" ({FOLDER}/{name})")
    except (OSError, EOFError, tarfile.TarError, zlib.error) as exc:
        raise GanlabError(f"{source}: cannot read ({type(exc).__name__}: {exc}); it is damaged, replace it") from None
    pixels = np.concatenate(images)
    return ImageData(pixels, np.concatenate(labels), f"cifar10 {split} ({len(pixels)} images from {source})")


def _add(raw: bytes, where: Path, images: list, labels: list, member: str = "") -> None:
    """Unpickle one batch and append its images, as (n, 32, 32, 3), and labels."""
    import numpy as np

    try:
        batch = _Unpickler(io.BytesIO(raw), encoding="bytes").load()
        data, batch_labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise GanlabError(
            f"{where}{member}: not a CIFAR-10 batch ({type(exc).__name__}: {exc}); it is damaged, replace it"
        ) from None
    if (
        data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3 * SIDE * SIDE
        or batch_labels.shape != data.shape[:1]
    ):
        raise GanlabError(
            f"{where}{member}: data is {data.dtype} {data.shape} with {batch_labels.shape} labels, "
            f"expected uint8 (n, {3 * SIDE * SIDE}) and (n,); replace it"
        )
    # channel-planar rows (R plane, G plane, B plane) to height x width x channels
    images.append(data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1).copy())
    labels.append(batch_labels)


class _Unpickler(pickle.Unpickler):
    """The official batches are pickles; only those the user chose (or an MD5-checked download)
    are read, and even then only numpy arrays and strings are rebuilt, never other objects."""

    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which a CIFAR-10 batch never holds")
        import numpy as np

        if name == "_reconstruct":  # where numpy keeps it differs between numpy 1 and 2
            return np.ndarray.__reduce__(np.zeros(0))[0]
        return super().find_class(module, name)
