"""The evaluation classifier's architecture: the smallest images it can score."""

import pytest

from ganlab.errors import GanlabError
from ganlab.evaluation.classifier import MIN_SIDE, build


def test_images_smaller_than_the_convolutions_leave_are_one_line_not_a_keras_traceback():
    with pytest.raises(GanlabError, match=r"needs images of at least 9x9 .* these are 8x8x1"):
        build((8, 8, 1), 3)
    with pytest.raises(GanlabError, match="these are 28x8x3"):
        build((28, 8, 3), 3)
    assert build((MIN_SIDE, MIN_SIDE, 1), 3).output.shape == (None, 3)  # the bound is tight
