"""Standing batch-norm statistics for the EMA generator (Brock et al. 2019, BigGAN).

The EMA generator averages G's weights over thousands of steps, but the engine copies G's
batch-norm moving statistics into it every step: statistics of the *current* weights'
activations, not of the averaged weights'. At the end of every epoch, before sample
grids, quick quality checks, checkpoints and the saved ``generator.keras`` see it (the
order is ``defaults.py``'s), the EMA generator's moving means and variances are replaced
by the average of its own batch statistics over a fixed set of z batches of the training
batch size, drawn in training mode as G is during training. (The next training step copies G's statistics back, so
training itself is unchanged and resumed runs stay exact.) What this does to the EMA
generator's scores is measured in docs/results.md ("Standing statistics").
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from ganlab.training.layers import batch_norms

#: Samples the statistics are averaged over (rounded up to whole training batches).
SAMPLES = 2048


class StandingStatistics(keras.callbacks.Callback):
    """Set the EMA generator's batch-norm statistics to its own, after every epoch.

    ``z`` (and ``labels`` for a conditional G) are the fixed inputs, split into batches of
    ``batch_size``, the same for every epoch. Batch norm updates its moving averages as
    ``m * old + (1 - m) * batch``; with ``m = i / (i + 1)`` for the i-th batch (from 0)
    they become the plain mean over the batches. While the statistics are refreshed the
    layers' momentum is a tensor argument of one compiled G call, so one trace serves
    every batch; the layers get their own momentum back afterwards.
    """

    def __init__(self, generator, z, batch_size, labels=None):
        super().__init__()
        self.generator = generator
        self.layers = batch_norms(generator)
        starts = range(0, len(z) - batch_size + 1, batch_size)
        self.batches = [
            z[i : i + batch_size] if labels is None else [z[i : i + batch_size], labels[i : i + batch_size]]
            for i in starts
        ]
        self._update = tf.function(self._update_with_momentum)

    def _update_with_momentum(self, inputs, momentum):
        for layer in self.layers:
            layer.momentum = momentum
        self.generator(inputs, training=True)

    def on_epoch_end(self, epoch, logs=None):
        if not self.layers:
            return
        kept = [layer.momentum for layer in self.layers]
        try:
            for i, inputs in enumerate(self.batches):
                self._update(inputs, tf.constant(i / (i + 1), tf.float32))
        finally:
            for layer, momentum in zip(self.layers, kept):
                layer.momentum = momentum


def sample_count(batch_size) -> int:
    """How many z the statistics average over: ``SAMPLES`` rounded up to whole batches."""
    return max(1, math.ceil(SAMPLES / batch_size)) * batch_size
