"""How a convolutional generator grows its image: from a small start map, doubled n times.

Shared by the ``dcgan`` and ``sngan`` builders, which differ only in the smallest start
map they accept.
"""

from __future__ import annotations

import numbers


def doublings(image_shape, min_start: int) -> tuple[int, int, int]:
    """``(n, start_h, start_w)``: the most doublings from a start map of at least ``min_start``
    pixels a side to the image's height and width; ``(0, 0, 0)`` for a shape that is not
    (height, width, channels) of positive integers. The caller says which starts it accepts."""
    shape = tuple(image_shape)
    if not (len(shape) == 3 and all(isinstance(d, numbers.Integral) and d >= 1 for d in shape)):
        return 0, 0, 0
    height, width = shape[:2]
    n = 0
    while all(size % 2 ** (n + 1) == 0 and size // 2 ** (n + 1) >= min_start for size in (height, width)):
        n += 1
    return n, height // 2**n, width // 2**n
