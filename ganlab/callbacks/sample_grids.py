"""Sample grids: G(z) for one fixed z as ``samples/epoch_NNNN.png``, and ``progress.gif``."""

from __future__ import annotations

from pathlib import Path

import keras

from ganlab.images import save_png, write_gif
from ganlab.rundir import RunDir


class SampleGrids(keras.callbacks.Callback):
    """Write ``samples/epoch_NNNN.png`` every ``every`` epochs, and ``progress.gif`` at the end.

    ``generate()`` returns float images in [0, 1], shape (n, h, w, c), for a z the
    caller keeps fixed, so the grids show one set of samples changing over training.
    The grid is also written after ``final_epoch``. The GIF is rebuilt from every
    ``samples/epoch_*.png`` there is, so a resumed run's GIF starts at epoch 1; grids
    after ``initial_epoch`` belong to epochs being trained again and are removed.
    ``cols`` fixes the grid's width (a conditional G's grid has one row per class).
    """

    def __init__(
        self, run_dir, generate, every: int = 1, final_epoch: int | None = None, initial_epoch: int = 0,
        cols: int | None = None, stopper=None,
    ):
        super().__init__()
        self.stopper = stopper  # KeepBest: a run it stops early ends with a grid, as one at final_epoch does
        self.files = RunDir(run_dir)
        self.generate, self.every, self.final_epoch, self.cols = generate, every, final_epoch, cols
        for epoch, path in self.files.sample_grids():
            if epoch > initial_epoch:
                path.unlink()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        stopped = self.stopper is not None and self.stopper.stopped
        if done % self.every == 0 or done == self.final_epoch or stopped:
            save_png(self.files.sample_grid(done), self.generate(), self.cols)

    def on_train_end(self, logs=None):
        frames = sample_paths(self.files.root)
        if frames:
            write_gif(frames, self.files.progress)


def sample_paths(run_dir) -> list[Path]:
    """The run's ``samples/epoch_NNNN.png`` files, in epoch order."""
    return [path for _, path in RunDir(run_dir).sample_grids()]
