"""Sample grids on the right epochs, and progress.gif across a resume."""

import imageio.v3 as iio
import numpy as np

from ganlab.callbacks.sample_grids import SampleGrids, sample_paths
from tests.helpers import Generate


def test_sample_grids_on_the_right_epochs(tmp_path):
    cb = SampleGrids(tmp_path, Generate(), every=3, final_epoch=7)
    for epoch in range(7):
        cb.on_epoch_end(epoch)
    assert [p.name for p in sample_paths(tmp_path)] == ["epoch_0003.png", "epoch_0006.png", "epoch_0007.png"]
    cb.on_train_end()
    assert iio.imread(tmp_path / "progress.gif", index=None).shape[0] == 3


def test_progress_gif_includes_grids_from_before_a_resume(tmp_path):
    generate = Generate()
    first = SampleGrids(tmp_path, generate)
    for epoch in range(2):
        first.on_epoch_end(epoch)
    (tmp_path / "samples" / "epoch_notes.png").write_bytes(b"not a grid")  # ignored
    first.on_epoch_end(2)  # an epoch whose checkpoint was lost: trained again after the resume
    resumed = SampleGrids(tmp_path, generate, final_epoch=10, initial_epoch=2)
    assert [p.name for p in sample_paths(tmp_path)] == ["epoch_0001.png", "epoch_0002.png"]
    for epoch in range(2, 10):
        resumed.on_epoch_end(epoch)
    resumed.on_train_end()
    names = [p.name for p in sample_paths(tmp_path)]
    assert names == [f"epoch_{i:04d}.png" for i in range(1, 11)]  # 10 after 9: sorted by number
    gif = iio.imread(tmp_path / "progress.gif", index=None)
    assert gif.shape[0] == 10
    assert np.all(np.diff(gif[:, 0, 0].astype(int), axis=0) > 0)  # epoch order: brighter each time


def test_no_grids_no_gif(tmp_path):
    SampleGrids(tmp_path, Generate(), every=5).on_train_end()
    assert not (tmp_path / "progress.gif").exists()
