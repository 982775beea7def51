"""Images, and labels if there are any, from a NumPy ``.npy`` or ``.npz`` file.

The images are ``(n, height, width)`` or ``(n, height, width, channels)`` with 1 or 3
channels, channels last. ``uint8`` arrays are used as they are; other integer arrays
must hold 0..255. Floating-point arrays are mapped onto 0..255 from the range they are
in: ``[0, 1]`` as ``round(x * 255)``, ``[-1, 1]`` as ``round((x + 1) * 127.5)``.
``float_range: auto`` takes ``[0, 1]`` when every value lies in it and ``[-1, 1]``
otherwise; an array in ``[-1, 1]`` whose values happen to be all non-negative needs
``float_range: "-1..1"``. Labels are integers 0..K-1, one per image.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Literal

from ganlab import GanlabError, ImageData, hookimpl

#: The ``.npz`` keys tried, in order, when the recipe names none.
IMAGE_KEYS = ("x", "images")
LABEL_KEYS = ("y", "labels")


@hookimpl
def register_datasets(register):
    register("arrays", arrays)


def arrays(
    path: str,
    images_key: str | None = None,
    labels_key: str | None = None,
    float_range: Literal["auto", "0..1", "-1..1"] = "auto",
) -> ImageData:
    """Images (and labels) from a NumPy .npy or .npz file: uint8 0..255, or floats in [0, 1] or [-1, 1].

    Parameters:
        path: a ``.npy`` file (the images) or a ``.npz`` file (images and optional labels).
        images_key: the images' array in a ``.npz``; default ``x``, else ``images``.
        labels_key: the labels' array in a ``.npz``; default ``y`` or ``labels`` if there
            is one, else no labels.
        float_range: the range float images are in: ``0..1``, ``-1..1``, or ``auto``
            (``0..1`` if every value is in it, else ``-1..1``).
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise GanlabError(f"data.path {file}: no such file; point it at a .npy or .npz file of images")
    if file.suffix not in (".npy", ".npz"):
        found = file.suffix or "file without an extension"
        raise GanlabError(f"data.path {file}: expected a .npy or .npz file, found a {found}")
    images, labels, keys = _load(file, images_key, labels_key)
    where = f"{file}{f' [{keys[0]}]' if keys[0] else ''}"
    images = _as_uint8_images(images, where, float_range)
    if labels is not None:
        labels = _as_labels(labels, f"{file} [{keys[1]}]", len(images))
    from_labels = f", labels from {keys[1]!r}" if labels is not None else ""
    n, height, width, channels = images.shape
    return ImageData(images, labels, f"{n} images {height}x{width}x{channels} from {where}{from_labels}")


def _load(file: Path, images_key, labels_key):
    """(images, labels or None, (images key, labels key)) as stored in the file."""
    import numpy as np

    try:
        if file.suffix == ".npy":
            if images_key or labels_key:
                raise GanlabError(
                    f"{file}: a .npy file holds one array, the images; "
                    "data.images_key and data.labels_key are for .npz files"
                )
            with file.open("rb") as f:  # not np.load, which takes what is not .npy for a pickle
                return np.lib.format.read_array(f, allow_pickle=False), None, (None, None)
        if not zipfile.is_zipfile(file):
            raise ValueError("it is not a zip archive, as numpy.savez writes")
        with np.load(file, allow_pickle=False) as loaded:
            found = loaded.files
            images_key = _key(file, found, images_key, IMAGE_KEYS, "images")
            if labels_key is None:
                labels_key = next((k for k in LABEL_KEYS if k in found), None)
            if labels_key is not None:
                _key(file, found, labels_key, (), "labels")
            return loaded[images_key], loaded[labels_key] if labels_key else None, (images_key, labels_key)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GanlabError(
            f"{file}: cannot read it as a NumPy file ({reason}); save the images with numpy.save or numpy.savez"
        ) from None


def _key(file, found, given, defaults, what):
    """The key of the ``what`` array: ``given`` if it is there, else the first default that is."""
    key = given if given is not None else next((k for k in defaults if k in found), None)
    if key not in found:
        looked = repr(given) if given is not None else " or ".join(map(repr, defaults))
        holds = ", ".join(map(repr, found)) or "none"
        raise GanlabError(f"{file}: no array {looked} for the {what} (it holds {holds}); set data.{what}_key")
    return key


def _as_uint8_images(images, where, float_range):
    """Check the images' shape and values; return them as uint8 (n, height, width, channels)."""
    import numpy as np

    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        hint = ""
        if images.ndim == 4 and images.shape[1] in (1, 3):
            hint = "; channels come last, transpose with numpy.moveaxis(x, 1, -1)"
        raise GanlabError(
            f"{where}: images are {images.dtype} {images.shape}; "
            f"expected (n, height, width) or (n, height, width, 1 or 3), n >= 1{hint}"
        )
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind in "iu":
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise GanlabError(f"{where}: {images.dtype} images hold {low}..{high}; integer images must hold 0..255")
        return images.astype(np.uint8)
    if images.dtype.kind != "f":
        raise GanlabError(f"{where}: images are {images.dtype}; expected uint8 0..255 or floats in [0, 1] or [-1, 1]")
    if not np.isfinite(images).all():
        raise GanlabError(f"{where}: images hold NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if float_range == "auto":
        float_range = "0..1" if low >= 0 else "-1..1"
    bottom = 0.0 if float_range == "0..1" else -1.0
    if low < bottom or high > 1:
        raise GanlabError(
            f"{where}: float images hold {low:.4g}..{high:.4g}, outside [{bottom:g}, 1]; "
            "scale them into [0, 1] or [-1, 1] (data.float_range) or save uint8 0..255"
        )
    return np.round((images - bottom) * (255.0 / (1 - bottom))).astype(np.uint8)


def _as_labels(labels, where, n):
    """Check the labels: integers 0..K-1, one per image; return them as int64 (n,)."""
    import numpy as np

    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise GanlabError(
            f"{where}: labels are {labels.dtype} {labels.shape}; "
            f"expected integers of shape ({n},), one per image (class indices, not one-hot)"
        )
    if n and labels.min() < 0:
        raise GanlabError(f"{where}: labels hold {int(labels.min())}; class indices start at 0")
    return labels.astype(np.int64)
