"""The pieces of the SN-ResNet models (``ganlab_plugins.sngan``), as functions on Keras tensors.

Imported by the builders, not when plugins are listed: it imports Keras. Each function takes
``sn``, what every weight layer is passed through: ``SpectralNorm`` in D, the identity in G
(Miyato et al. normalise D only). G is made of Keras' built-in layers only, so that
``generator.keras`` loads without this module (``ganlab sample``); D's attention gain is the
one custom layer, and D is never saved as a ``.keras`` file (checkpoints copy its variables).
"""

from __future__ import annotations

import keras

#: Batch-norm momentum in Keras' convention: PyTorch's 0.1 and Chainer's decay 0.9, as in the
#: papers' reference code.
BN_MOMENTUM = 0.9
#: Spread of the class-conditional gains and biases around 1 and 0 at the start.
CBN_STDDEV = 0.02


def plain(layer):
    """G's ``sn``: the layer as it is."""
    return layer


def conv(sn, x, channels, size, **kwargs):
    return sn(keras.layers.Conv2D(channels, size, padding="same", **kwargs))(x)


def norm(x, labels=None, num_classes=None):
    """Batch norm; with ``labels``, conditional batch norm (de Vries et al. 2017, as in Miyato &
    Koyama 2018): the gain and bias are per-class embeddings. They start near 1 and 0, not at
    them as in the paper's code, so that the labels change G's images from the first step."""
    if labels is None:
        return keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, center=False, scale=False)(x)
    channels = x.shape[-1]

    def per_class(mean):
        start = keras.initializers.RandomNormal(mean, CBN_STDDEV)
        embedded = keras.layers.Embedding(num_classes, channels, embeddings_initializer=start)(labels)
        return keras.layers.Reshape((1, 1, channels))(embedded)

    return keras.layers.Add()([keras.layers.Multiply()([x, per_class(1.0)]), per_class(0.0)])


def up_block(x, channels, labels=None, num_classes=None):
    """G's residual block: BN -> ReLU -> 2x nearest upsampling -> conv3x3 -> BN -> ReLU -> conv3x3,
    plus the upsampled input through a 1x1 convolution."""
    h = keras.layers.ReLU()(norm(x, labels, num_classes))
    h = conv(plain, keras.layers.UpSampling2D(2)(h), channels, 3)
    h = conv(plain, keras.layers.ReLU()(norm(h, labels, num_classes)), channels, 3)
    shortcut = conv(plain, keras.layers.UpSampling2D(2)(x), channels, 1)
    return keras.layers.Add()([h, shortcut])


def down_block(x, channels, sn, downsample: bool, first: bool):
    """D's residual block: [ReLU ->] conv3x3 -> ReLU -> conv3x3 [-> 2x2 average pooling], plus a
    shortcut. The ``first`` block (the paper's "optimized" one) has no ReLU in front, since its
    input is the image, and its shortcut pools before the 1x1 convolution; the others pool after
    it, and keep the input as it is when neither the size nor the width changes."""
    pool = keras.layers.AveragePooling2D(2) if downsample else plain
    h = x if first else keras.layers.ReLU()(x)
    h = conv(sn, keras.layers.ReLU()(conv(sn, h, channels, 3)), channels, 3)
    h = pool(h)
    if first:
        shortcut = conv(sn, pool(x), channels, 1)
    elif downsample or x.shape[-1] != channels:
        shortcut = pool(conv(sn, x, channels, 1))
    else:
        shortcut = x
    return keras.layers.Add()([h, shortcut])


def attention(x, sn, gain):
    """Self-attention (SAGAN, Zhang et al. 2019): every position mixes in the features of all
    positions, weighted by a softmax over query-key products, through 1x1 convolutions of
    c/8 (query, key) and c/2 (value) channels; the result is added to ``x`` through ``gain``.

    ``gain`` starts the attention switched off, as SAGAN's gamma = 0 does: G passes a 1x1
    convolution with a zero kernel (a built-in layer), D a learned scalar ``AttentionGain``,
    since a spectrally normalised kernel cannot start at zero.
    """
    height, width, channels = x.shape[1:]
    positions, reduced = height * width, max(channels // 8, 1)

    def project(size):
        return keras.layers.Reshape((positions, size))(conv(sn, x, size, 1, use_bias=False))

    query, key, value = project(reduced), project(reduced), project(max(channels // 2, 1))
    weights = keras.layers.Softmax(dtype="float32")(keras.layers.Dot(axes=2)([query, key]))
    mixed = keras.layers.Reshape((height, width, value.shape[-1]))(keras.layers.Dot(axes=(2, 1))([weights, value]))
    return keras.layers.Add()([x, gain(mixed, channels)])


def zero_conv(x, channels):
    """G's attention gain: a 1x1 convolution whose kernel starts at zero."""
    return conv(plain, x, channels, 1, use_bias=False, kernel_initializer="zeros")


def sn_gain(sn):
    """D's attention gain: a spectrally normalised 1x1 convolution scaled by ``AttentionGain``."""
    return lambda x, channels: AttentionGain()(conv(sn, x, channels, 1, use_bias=False))


@keras.saving.register_keras_serializable(package="ganlab_plugins")
class AttentionGain(keras.layers.Layer):
    """``x`` times a learned scalar that starts at 0 (SAGAN's gamma)."""

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, x):
        return x * keras.ops.cast(self.gamma, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
