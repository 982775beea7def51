"""Callbacks that steer training rather than record it: checkpoints, the NaN stop, the step limit."""

from __future__ import annotations

import math

import keras

from ganlab.training import checkpoint


class NaNStop(keras.callbacks.Callback):
    """Stop at the first step whose D or G loss is NaN or infinite, and remember where."""

    def __init__(self):
        super().__init__()
        self.bad_step = None

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        for key in ("d_loss", "g_loss"):
            value = logs.get(key)
            if value is not None and not math.isfinite(float(value)):
                self.bad_step = (int(self.model.g_optimizer.iterations.numpy()), key, float(value))
                self.model.stop_training = True
                return


class StepLimit(keras.callbacks.Callback):
    """Stop once G has taken ``steps`` steps (``training.steps`` in the recipe)."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations.numpy()) >= self.steps:
            self.model.stop_training = True


class Checkpointer(keras.callbacks.Callback):
    """Save a checkpoint every ``every`` epochs and after the last one; never a NaN state."""

    def __init__(self, run_dir, every, final_epoch, nan_stop):
        super().__init__()
        self.run_dir, self.every, self.final_epoch, self.nan_stop = run_dir, every, final_epoch, nan_stop
        self.last = None

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_stop.bad_step is not None:
            return
        done = epoch + 1
        if done % self.every == 0 or done == self.final_epoch or self.model.stop_training:
            step = int(self.model.g_optimizer.iterations.numpy())
            self.last = checkpoint.save(self.model, self.run_dir, done, step)
