"""The evaluation classifier: the smallest images it can score, and a cache it cannot write."""

import numpy as np
import pytest

from ganlab.errors import GanlabError
from ganlab.evaluation import classifier
from ganlab.evaluation.classifier import MIN_SIDE, build


def test_images_smaller_than_the_convolutions_leave_are_one_line_not_a_keras_traceback():
    with pytest.raises(GanlabError, match=r"needs images of at least 9x9 .* these are 8x8x1"):
        build((8, 8, 1), 3)
    with pytest.raises(GanlabError, match="these are 28x8x3"):
        build((28, 8, 3), 3)
    assert build((MIN_SIDE, MIN_SIDE, 1), 3).output.shape == (None, 3)  # the bound is tight


def test_a_cache_that_cannot_be_written_is_one_line_before_any_training(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GANLAB_CACHE", str(not_a_folder / "sub"))
    monkeypatch.setattr(classifier, "train", lambda *a, **k: pytest.fail("trained before finding out"))
    images, labels = np.zeros((4, 12, 12, 1), np.uint8), np.arange(4)
    with pytest.raises(GanlabError, match=r"cannot write ganlab's cache .*; set GANLAB_CACHE to a folder"):
        classifier.load_or_train(images, labels)
