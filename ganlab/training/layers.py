"""Keras layers ganlab's first-party models share, and the walk over a model's layers.

``LatentModes`` turns z's first entries into a discrete choice (see ``ganlab.training.infogan``).
``leaf_layers`` / ``batch_norms`` reach into nested models (a conditional G wraps the
unconditional one); bench counts FLOPs, distribute synchronises batch norm and
standing statistics refresh it through them.

``HashDropout`` is Keras' ``Dropout`` with a cheaper source of random bits. Keras draws
its masks from TensorFlow's counter-based Philox generator: ten rounds of 64-bit
multiplies per four numbers, which XLA's CPU backend compiles to slow scalar code (what
that costs a training step is measured in docs/performance.md). Here each element's bit
pattern is one round of an integer hash (Wellons' "lowbias32": two multiplies and three
xor-shifts) of its index mixed with a per-call key, which XLA fuses into the element-wise
loop around it. The masks are not cryptographic, but every element is kept with
probability 1 - rate independently enough for regularisation, the layer keeps Keras'
seeding (a ``SeedGenerator`` whose state is saved with the model) and, without
``training``, it is the identity like any dropout.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _lowbias32(x):
    """Chris Wellons' 32-bit integer hash (2 multiplies, 3 xor-shifts; full avalanche)."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def hash_bits(shape, seed):
    """Pseudo-random uint32s of ``shape``, a pure function of the (2,) integer ``seed``."""
    seed = tf.cast(seed, tf.uint32)
    key = _lowbias32(tf.bitwise.bitwise_xor(seed[0], _lowbias32(seed[1] + tf.constant(0x9E3779B9, tf.uint32))))
    size = tf.reduce_prod(shape)
    index = tf.bitcast(tf.range(size, dtype=tf.int32), tf.uint32)
    return tf.reshape(_lowbias32(tf.bitwise.bitwise_xor(index * tf.constant(0x9E3779B9, tf.uint32), key)), shape)


@keras.saving.register_keras_serializable(package="ganlab")
class HashDropout(keras.layers.Dropout):
    """Inverted dropout with integer-hash masks (see the module docstring for why)."""

    def __init__(self, rate, seed=None, **kwargs):
        if kwargs.pop("noise_shape", None) is not None:  # None comes back from get_config
            raise ValueError("HashDropout draws whole-tensor masks; noise_shape is not supported")
        super().__init__(rate, seed=seed, **kwargs)

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        bits = hash_bits(tf.shape(inputs), self.seed_generator.next())
        threshold = tf.constant(min(int(self.rate * 2.0**32), 2**32 - 1), tf.uint32)
        return tf.where(bits >= threshold, inputs / (1.0 - self.rate), tf.zeros_like(inputs))


def latent_mode(z, modes):
    """The mode each row of z chooses: the argmax of its first ``modes`` entries."""
    return tf.argmax(z[:, :modes], axis=-1)


@keras.saving.register_keras_serializable(package="ganlab")
class LatentModes(keras.layers.Layer):
    """Replaces z's first ``modes`` entries by the one-hot of their argmax: a discrete mode.

    For z ~ N(0, I) or U(-1, 1) the argmax is uniform over the modes; ``ganlab.training.infogan``
    puts this layer in front of G for InfoGAN modes.
    """

    def __init__(self, modes, **kwargs):
        super().__init__(**kwargs)
        self.modes = int(modes)

    def call(self, z):
        picked = tf.one_hot(latent_mode(z, self.modes), self.modes, dtype=z.dtype)
        return tf.concat([picked, z[:, self.modes :]], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "modes": self.modes}


def leaf_layers(model):
    """The layers of ``model`` in order, nested models replaced by their own layers."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from leaf_layers(layer)
        else:
            yield layer


def batch_norms(model) -> list:
    """Every BatchNormalization layer in ``model``, nested models included."""
    return [layer for layer in leaf_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
