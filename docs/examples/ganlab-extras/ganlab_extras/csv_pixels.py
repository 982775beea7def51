"""Images stored one per row of a CSV file, as 0..255 pixel values.

This is how Kaggle's "Digit Recognizer" ships MNIST (``train.csv``: a header
``label,pixel0,...,pixel783`` and one labelled 28x28 image per row; ``test.csv``: the
same without the label column), and how many other small image sets travel. Without a
header row, a row of ``height * width * channels`` values is an unlabelled image and a
row with one value more is a label followed by the image (the ``mnist_train.csv`` layout).
Pixels are in row-major order, channels innermost (``r, g, b, r, g, b, ...`` for RGB).

numpy is imported inside the builder, so ``ganlab list`` stays fast.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path
from typing import Literal

from ganlab import GanlabError, ImageData


def csv_pixels(
    path: str,
    height: int = 28,
    width: int = 28,
    channels: Literal[1, 3] = 1,
    label_column: str | None = "label",
    limit: int | None = None,
) -> ImageData:
    """Images from a CSV file, one per row of 0..255 pixel values (Kaggle's digit-recognizer train.csv).

    Parameters:
        path: the CSV file.
        height: image height in pixels.
        width: image width in pixels.
        channels: 1 (grayscale) or 3 (RGB).
        label_column: with a header row, the column holding integer labels; null for a
            file without labels. Without a header, a label is recognised by the row
            having one value more than the image.
        limit: read only the first ``limit`` images (null: all).
    """
    import numpy as np

    file = Path(path).expanduser()
    where = f"dataset csv_pixels: {file}"
    for name, value in (("height", height), ("width", width), ("limit", limit)):
        if value is not None and value < 1:
            raise GanlabError(f"dataset csv_pixels: {name} must be >= 1, found {value}")
    try:
        with open(file, newline="") as f:
            first = f.readline().strip()
    except OSError as exc:
        raise GanlabError(f"{where}: cannot read ({exc.strerror or exc}); set data.path to the CSV file") from None
    if not first:
        raise GanlabError(f"{where}: the file is empty")
    columns = [c.strip() for c in first.split(",")]
    header = not _is_number(columns[0])
    pixels = height * width * channels
    values = _read(file, where, skip=int(header), limit=limit)
    if header and len(columns) != values.shape[1]:
        raise GanlabError(f"{where}: the header names {len(columns)} columns, the rows hold {values.shape[1]} values")
    names = columns if header else [f"{i + 1}" for i in range(values.shape[1])]
    label_at = _label_index(where, columns, header, label_column, values.shape[1], pixels)
    found = values.shape[1] - (label_at is not None)
    if found != pixels:
        raise GanlabError(
            f"{where}: rows hold {found} pixel values, {height}x{width}x{channels} images need {pixels}; "
            "set height, width and channels to match"
        )
    first_line = 1 + header
    labels = None
    if label_at is not None:
        _check_whole(where, values[:, [label_at]], first_line, [names[label_at]], "labels must be whole numbers >= 0")
        labels = values[:, label_at].astype(np.int64)
        values, names = np.delete(values, label_at, axis=1), names[:label_at] + names[label_at + 1 :]
    _check_whole(where, values, first_line, names, "pixel values must be whole numbers 0..255", high=255)
    images = values.astype(np.uint8).reshape(-1, height, width, channels)
    labelled = "" if labels is None else f", labels {labels.min()}..{labels.max()}"
    return ImageData(images, labels, f"csv_pixels {file} ({len(images)} images{labelled})")


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read(file, where, skip, limit):
    """All values as float64 (rows, columns); numpy's fast parser, and on failure a slow scan to name the line."""
    import numpy as np

    try:
        with warnings.catch_warnings():  # numpy warns of a file without rows; the error below says it
            warnings.simplefilter("ignore", UserWarning)
            values = np.loadtxt(file, delimiter=",", skiprows=skip, max_rows=limit, ndmin=2, dtype=np.float64)
    except ValueError:
        raise GanlabError(f"{where}: {_first_bad_line(file, skip)}") from None
    if len(values) == 0:
        raise GanlabError(f"{where}: no rows of pixel values")
    return values


def _first_bad_line(file, skip) -> str:
    """What stops ``file`` from being rows of numbers, naming the line and the column."""
    with open(file, newline="") as f:
        width = None
        for line, row in enumerate(csv.reader(f), 1):
            if line <= skip:
                continue
            width = width or len(row)
            if len(row) != width:
                return f"line {line} holds {len(row)} values, the lines before it {width}"
            for column, text in enumerate(row, 1):
                if not _is_number(text):
                    return f"line {line}, column {column}: {text.strip()!r} is not a number"
    return "not comma-separated numbers"


def _label_index(where, columns, header, label_column, width, pixels):
    """The column of the labels, or None."""
    if label_column is None:
        return None
    if header:
        if label_column not in columns:
            shown = ", ".join(columns[:3]) + (", ..." if len(columns) > 3 else "")
            raise GanlabError(
                f"{where}: no column '{label_column}' in the header ({shown}); "
                "set label_column to the label column, or null for a file without labels"
            )
        return columns.index(label_column)
    return 0 if width == pixels + 1 else None


def _check_whole(where, values, first_line, names, rule, high=None):
    """Raise one line naming the first value that is not a whole number in [0, high]."""
    import numpy as np

    bad = (values != np.round(values)) | (values < 0)
    if high is not None:
        bad |= values > high
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise GanlabError(f"{where}: line {first_line + row}, column {names[col]}: found {values[row, col]:g}; {rule}")
