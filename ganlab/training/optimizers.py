"""The players' optimizers: Adam with the recipe's settings, schedule and gradient clipping.

A schedule is a function of the optimizer's own update count. D's optimizer is applied
k times per train step (``training.d_steps``), G's once, so a run of S steps gives D
k x S updates and G S updates; each schedule is stretched over its own player's count.
Because the count is an optimizer variable saved in every checkpoint, a resumed run
continues the schedule exactly where it stopped. Under ``training.precision: mixed_float16``
both are wrapped in Keras' ``LossScaleOptimizer`` (dynamic loss scaling).
"""

from __future__ import annotations

import math

import keras

from ganlab.recipe.schema import optimizer_settings
from ganlab.training.auto_config import settled


@keras.saving.register_keras_serializable(package="ganlab")
class Decay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``initial`` until ``start`` x ``total`` updates, then linear or cosine decay to 0.

    Decaying the learning rate to zero over the end of training is a standard way to
    settle the players near the end of an adversarial game (as in pix2pix/CycleGAN's
    linear decay); the last update uses a learning rate of about ``initial / remaining``.
    """

    def __init__(self, initial, total, start=0.0, shape="linear"):
        self.initial, self.total, self.start, self.shape = float(initial), int(total), float(start), shape

    def __call__(self, step):
        from keras import ops

        begin = self.start * self.total
        progress = ops.clip((ops.cast(step, "float32") - begin) / max(self.total - begin, 1.0), 0.0, 1.0)
        if self.shape == "cosine":
            return self.initial * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return self.initial * (1.0 - progress)

    def get_config(self):
        return {"initial": self.initial, "total": self.total, "start": self.start, "shape": self.shape}


def adam(recipe, player, total_steps):
    """Adam for ``player`` ('g' or 'd') with the recipe's settings and schedule over ``total_steps`` train steps."""
    s = optimizer_settings(recipe, player)
    rate = s["learning_rate"]
    if s["lr_decay"] != "none":
        updates = total_steps * (recipe["training"]["d_steps"] if player == "d" else 1)
        rate = Decay(rate, updates, s["decay_start"], s["lr_decay"])
    optimizer = keras.optimizers.Adam(
        learning_rate=rate,
        beta_1=s["beta_1"],
        beta_2=s["beta_2"],
        global_clipnorm=s["clip_norm"],
        name=f"{player}_adam",
    )
    if settled(recipe["training"], "precision") == "mixed_float16":
        # float16 gradients underflow: the engine scales each loss (``scale_loss``) before taking
        # gradients, and this optimizer unscales them and skips a step whose gradients overflowed.
        return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{player}_adam_scaled")
    return optimizer
