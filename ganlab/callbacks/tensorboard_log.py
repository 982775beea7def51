"""TensorBoard logging (``output.tensorboard``): each epoch's numbers and its sample grid."""

from __future__ import annotations

import imageio.v3 as iio
import keras
import tensorflow as tf

from ganlab.rundir import RunDir


class TensorBoardLog(keras.callbacks.Callback):
    """Write each epoch's numeric logs and its sample grid to ``tensorboard/``.

    It runs after the callbacks that add to the logs and after ``SampleGrids`` (see
    ``defaults.py``), so TensorBoard shows what ``metrics.csv`` holds, and the grid is the
    PNG just written for the epoch: G is not run twice. Steps on TensorBoard's axis are epochs.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.files = RunDir(run_dir)

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(str(self.files.tensorboard))

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        grid = self.files.sample_grid(done)
        with self.writer.as_default(step=done):
            for key, value in (logs or {}).items():
                if isinstance(value, (int, float)) or getattr(value, "shape", None) == ():
                    tf.summary.scalar(key, float(value))
            if grid.is_file():
                image = iio.imread(grid)
                tf.summary.image("samples", (image if image.ndim == 3 else image[..., None])[None])
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()
