"""ADA (Karras et al. 2020): the probability with which DiffAugment's ops apply, adapted to D's overfitting.

D overfitting a small data set grows confident on the real images: the sign of its outputs
on reals tends to +1. ADA measures ``r_t = E[sign(D(x) - threshold)]`` over the reals of
``INTERVAL`` D steps (the threshold is the loss's "real" boundary, 0 for logits) and moves p,
the probability each augmentation applies to an image, by
``sign(r_t - target) * images / (kimg * 1000)``: up while D is more confident than the
target, down otherwise, so that p can go from 0 to 1 in ``kimg`` thousand real images.
p starts at 0 and stays in [0, 1].

The state, p and the sums of the current interval, is four non-trainable float32 scalars that
every checkpoint saves (``ganlab.training.checkpoint``), so a resumed run continues the same
p. Under ``tf.distribute`` the sums are taken over all replicas, which then assign the
same values (aggregation ``only_first_replica``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ganlab.training import replicas

#: D steps between adjustments of p (the paper's).
INTERVAL = 4


class Ada:
    """ADA's state, and ``observe``, which the engine calls with D's outputs on the reals of each D step."""

    def __init__(self, target: float, kimg: int, threshold: float = 0.0):
        self.target, self.kimg, self.threshold = target, kimg, threshold

        def scalar(name):
            return keras.Variable(
                0.0, dtype="float32", trainable=False, aggregation="only_first_replica", name=f"ada_{name}"
            )

        self.p = scalar("p")
        self.signs = scalar("signs")  # sum of the signs over this interval's reals
        self.images = scalar("images")  # reals seen in this interval
        self.steps = scalar("steps")  # D steps in this interval

    @property
    def variables(self) -> list:
        """What a checkpoint saves, in a fixed order."""
        return [self.p, self.signs, self.images, self.steps]

    def observe(self, real_logits):
        """Add one D step's outputs on reals; every ``INTERVAL``-th call moves p and starts a new interval."""
        logits = tf.cast(real_logits, tf.float32)
        totals = tf.stack([tf.reduce_sum(tf.sign(logits - self.threshold)), tf.cast(tf.size(logits), tf.float32)])
        if replicas.replica()[0] > 1:
            totals = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, totals)
        signs, images = self.signs + totals[0], self.images + totals[1]
        steps = self.steps + 1.0
        due = steps >= INTERVAL
        r_t = signs / tf.maximum(images, 1.0)
        moved = tf.clip_by_value(self.p + tf.sign(r_t - self.target) * images / (self.kimg * 1000.0), 0.0, 1.0)
        self.p.assign(tf.where(due, moved, self.p))
        self.signs.assign(tf.where(due, 0.0, signs))
        self.images.assign(tf.where(due, 0.0, images))
        self.steps.assign(tf.where(due, 0.0, steps))


def from_options(options, threshold: float):
    """The run's ADA state, or None when ``training.ada_target`` is not set."""
    return None if options.ada_target is None else Ada(options.ada_target, options.ada_kimg, threshold)
