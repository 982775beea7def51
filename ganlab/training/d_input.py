"""What D sees: the transforms applied to every image on its way into D.

The engine sends every image D judges through ``for_d``: the real and the fake batch of
each D step, and in the AM step G's fakes and, for a relativistic loss, the real batch.
``for_d`` applies each transform of ``TRANSFORMS`` whose option is set, in the table's
order. A new transform (DiffAugment, ADA) is one function here, one entry in the table,
one ``training`` setting in ``ganlab.recipe.schema`` (with its field in
``ganlab.training.options``) and one test; the engine's steps do not change. Instance
noise comes first, then DiffAugment (``ganlab.training.diffaugment``), whose ops apply
always or, with ADA, with the probability ``view.augment_p``.

A transform is ``transform(images, value, view) -> images``: ``value`` is its option's
setting and ``view`` (a ``View``) what it may read of the run. Random numbers come from
``view.seed``, the run's noise seed, whose state every checkpoint saves, and are drawn
through ``ganlab.training.replicas.share`` so that N replicas draw what one device draws.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from ganlab.training import diffaugment, replicas


@dataclasses.dataclass(frozen=True)
class View:
    """What a transform may read besides the images: how far the run is, its noise seed, and ADA's p."""

    g_updates: object  # G's optimizer's update count: the run's train steps so far
    total_steps: int
    seed: keras.random.SeedGenerator
    augment_p: object = None  # ADA's probability (``ganlab.training.ada``); None: augmentations always apply

    def progress(self):
        """The fraction of the run done, from 0 at the start to 1 at the last step (and after)."""
        return tf.minimum(tf.cast(self.g_updates, tf.float32) / float(self.total_steps), 1.0)


def instance_noise(images, std, view):
    """Images plus N(0, s^2) noise, s annealed linearly from ``std`` to 0 over the run.

    Instance noise (Sonderby et al. 2016) blurs the real and generated distributions
    for D early on, so that they overlap and D's gradients stay informative.
    """
    s = tf.cast(std * (1.0 - view.progress()), images.dtype)
    def draw(shape):
        return keras.random.normal(shape, dtype=images.dtype, seed=view.seed)

    noise = replicas.share(draw, tf.shape(images))
    return images + s * noise


#: Option (a field of ``EngineOptions``) -> the transform it turns on, in the order they apply.
TRANSFORMS = {
    "instance_noise": instance_noise,
    "diffaugment": diffaugment.augment,
}


def for_d(images, options, view):
    """``images`` as D sees them: every transform whose option is set in ``options``, in order.

    With no transform on, ``images`` come back as they are (the same object).
    """
    for option, transform in TRANSFORMS.items():
        value = getattr(options, option)
        if value:
            images = transform(images, value, view)
    return images
