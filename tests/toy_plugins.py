"""Plugin objects registered directly into an isolated registry by the tests."""

import math
from typing import Literal

import numpy as np

from ganlab import ImageData, Loss, hookimpl


def dense_generator(
    latent_dim: int, image_shape: tuple, width: int = 8, activation: Literal["tanh", "sigmoid"] = "tanh"
):
    """A one-layer generator for tests."""
    import keras

    z = keras.Input((latent_dim,))
    output = keras.layers.Dense(int(math.prod(image_shape)), activation=activation)
    x = output(keras.layers.Dense(width)(z))
    return keras.Model(z, keras.layers.Reshape(image_shape)(x))


def needs_depth(latent_dim: int, image_shape: tuple, depth: int):
    """A generator with a required parameter."""
    raise AssertionError("not built in these tests")


class Toys:
    @hookimpl
    def register_generators(self, register):
        register("dense", dense_generator)
        register("deep", needs_depth)


class Rival:
    """Registers a generator under a name Toys also uses."""

    @hookimpl
    def register_generators(self, register):
        register("dense", dense_generator)


class Misspelled:
    @hookimpl
    def register_generator(self, register):  # missing the final 's'
        register("x", dense_generator)


class WrongSignature:
    @hookimpl
    def register_losses(self, register, extra):
        pass


class Raises:
    @hookimpl
    def register_losses(self, register):
        register("half", dense_generator)
        raise RuntimeError("boom in hook")


def noise_images(n: int = 256, size: int = 8, seed: int = 0, classes: int = 0):
    """Random grayscale images: enough to exercise training mechanics quickly.

    With ``classes`` > 0 each image gets a label, and a bright square whose position
    depends on it, so a classifier can learn the labels in a few steps.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 128, (n, size, size, 1), dtype=np.uint8)
    if not classes:
        return ImageData(images)
    labels = np.arange(n) % classes
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 3)
        images[i, 3 + 7 * row : 8 + 7 * row, 3 + 7 * col : 8 + 7 * col] = 255
    return ImageData(images, labels)


def explodes(after: int = 3):
    """BCE whose G loss turns NaN after `after` G steps (a divergence on demand)."""
    import keras

    class Explodes(Loss):
        def __init__(self):
            self.calls = keras.Variable(0, dtype="int32", trainable=False)

        def d_loss(self, real_logits, fake_logits):
            return keras.ops.mean(keras.ops.softplus(-real_logits)) + keras.ops.mean(keras.ops.softplus(fake_logits))

        def g_loss(self, fake_logits):
            self.calls.assign_add(1)
            loss = keras.ops.mean(keras.ops.softplus(-fake_logits))
            return keras.ops.where(self.calls > after, float("nan"), loss)

    return Explodes()


class Toolkit:
    """A tiny dataset and a diverging loss for run-level tests."""

    @hookimpl
    def register_datasets(self, register):
        register("noise", noise_images)

    @hookimpl
    def register_losses(self, register):
        register("explodes", explodes)


class Unmarked:
    """Hook functions its author forgot to mark with @hookimpl: pluggy alone would skip them in silence."""

    def register_generators(self, register):
        register("dense", dense_generator)


class Twice:
    """Registers one generator name twice: 'twice:dense' could not name one component."""

    @hookimpl
    def register_generators(self, register):
        register("dense", dense_generator)
        register("dense", needs_depth)


class FlatPenalty(Loss):
    """WGAN-GP written for flat (batch, features) images: e has shape (batch, 1), which does not
    broadcast against the (batch, height, width, channels) images of a run."""

    def d_loss(self, real_logits, fake_logits):
        import keras

        return keras.ops.mean(fake_logits) - keras.ops.mean(real_logits)

    def g_loss(self, fake_logits):
        import keras

        return -keras.ops.mean(fake_logits)

    def penalty(self, discriminator, real, fake, seed):
        import keras
        import tensorflow as tf

        e = keras.random.uniform((real.shape[0], 1), seed=seed)
        mixed = e * real + (1.0 - e) * fake
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            scores = discriminator(mixed, training=True)
        norms = keras.ops.norm(tape.gradient(scores, mixed), axis=1)
        return 10.0 * keras.ops.mean(keras.ops.square(norms - 1.0))


class NanPenalty(FlatPenalty):
    """A penalty that is NaN (the square root of a negative number)."""

    def penalty(self, discriminator, real, fake, seed):
        import keras

        return keras.ops.sqrt(-1.0 - keras.ops.mean(keras.ops.square(discriminator(real, training=True))))


def flat_penalty():
    """WGAN-GP whose penalty works only on flat inputs."""
    return FlatPenalty()


class Penalties:
    @hookimpl
    def register_losses(self, register):
        register("flat_gp", flat_penalty)
        register("nan_gp", NanPenalty)
