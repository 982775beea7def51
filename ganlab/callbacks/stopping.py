"""Callbacks that stop training: at the first NaN or infinite loss, and at ``training.steps``."""

from __future__ import annotations

import math

import keras


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
