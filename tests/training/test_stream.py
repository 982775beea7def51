"""ganlab.training.stream: holding images out of training (the real batches' order is
tested with the distributed layout in tests/training/test_distribute.py)."""

import numpy as np

from ganlab.components.interfaces import ImageFiles
from ganlab.training.stream import hold_out


def test_hold_out_splits_arrays_and_files_the_same_way():
    images = np.arange(20, dtype=np.uint8).reshape(20, 1, 1, 1)
    kept, held = hold_out(images, 0.25, seed=3)
    assert len(held) == 5 and len(kept) == 15
    assert sorted(np.concatenate([kept, held]).ravel().tolist()) == list(range(20))
    assert np.array_equal(hold_out(images, 0.25, seed=3)[1], held)
    assert not np.array_equal(hold_out(images, 0.25, seed=4)[1], held)
    files = ImageFiles([f"{i}.png" for i in range(20)], (1, 1, 1), decode=None)
    kept_files, held_files = hold_out(files, 0.25, seed=3)
    assert held_files.paths == [f"{i}.png" for i in held.ravel()] and len(kept_files) == 15
