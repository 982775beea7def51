"""Image grids as PNG files and a sequence of them as an animated GIF.

Everything here is numpy and imageio only (no TensorFlow), and every file is written
atomically (``ganlab.rundir.atomic_path``), so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import math

import imageio.v3 as iio
import numpy as np

from ganlab.rundir import atomic_path

#: Pixel value of the lines between tiles and of the empty cells of the last row.
SEPARATOR_VALUE = 255
#: Width in pixels of the lines between tiles.
SEPARATOR_WIDTH = 1
#: How many times longer than the others the last GIF frame is shown.
LAST_FRAME_HOLD = 3


def to_grid(images, cols: int | None = None) -> np.ndarray:
    """Arrange ``images`` (float, (n, h, w, c), c 1 or 3, values in [0, 1]) in a grid.

    ``cols`` defaults to ``ceil(sqrt(n))``, which gives a near-square grid. Values are
    clipped to [0, 1] (NaN counts as 0). Returns ``uint8`` of shape (H, W) for grayscale
    and (H, W, 3) for RGB, with ``SEPARATOR_WIDTH`` lines between the tiles.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"expected images of shape (n, height, width, 1 or 3) with n >= 1, found shape {images.shape}")
    n, h, w, c = images.shape
    cols = min(cols or math.ceil(math.sqrt(n)), n)
    rows = math.ceil(n / cols)
    pixels = np.round(np.clip(np.nan_to_num(images, nan=0.0), 0.0, 1.0) * 255).astype(np.uint8)
    sep = SEPARATOR_WIDTH
    grid = np.full((rows * (h + sep) - sep, cols * (w + sep) - sep, c), SEPARATOR_VALUE, np.uint8)
    for i, tile in enumerate(pixels):
        top, left = (i // cols) * (h + sep), (i % cols) * (w + sep)
        grid[top : top + h, left : left + w] = tile
    return grid[..., 0] if c == 1 else grid


def save_png(path, images, cols: int | None = None) -> None:
    """Write ``images`` as one PNG grid (see ``to_grid``) to ``path``, atomically."""
    grid = to_grid(images, cols)
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, grid, extension=".png")


def write_gif(frame_paths, out_path, duration: float = 0.3) -> None:
    """Write the PNGs ``frame_paths``, in order, as a GIF that loops forever, atomically.

    Each frame shows for ``duration`` seconds, the last one ``LAST_FRAME_HOLD`` times
    longer so the final state can be seen. All frames must have the same size and
    colour mode (``ValueError`` otherwise). Pillow merges consecutive identical frames
    into one shown for their summed time.
    """
    frame_paths = list(frame_paths)
    if not frame_paths:
        raise ValueError("write_gif needs at least one frame")
    frames = [iio.imread(p) for p in frame_paths]
    for p, frame in zip(frame_paths, frames):
        if frame.shape != frames[0].shape:
            raise ValueError(
                f"GIF frames must all have one shape: {frame_paths[0]} is {frames[0].shape}, {p} is {frame.shape}"
            )
    ms = round(duration * 1000)
    durations = [ms] * (len(frames) - 1) + [ms * LAST_FRAME_HOLD]
    with atomic_path(out_path) as tmp:
        # Pillow takes a list of durations only when there are several frames. Its
        # default optimize=True stores partly changed frames with transparency, which
        # Pillow 13 (and so imageio) cannot read back for grayscale GIFs.
        duration = durations if len(frames) > 1 else durations[0]
        iio.imwrite(tmp, frames, extension=".gif", duration=duration, loop=0, optimize=False)
