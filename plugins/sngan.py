"""SN-ResNet generator and discriminator (Miyato et al. 2018), optional self-attention (SAGAN,
Zhang et al. 2019), and their conditional variants (Miyato & Koyama 2018).

G ``sngan``: z -> Dense -> start map -> n residual up-blocks -> BN -> ReLU -> conv3x3 -> tanh.
D ``sngan``: image -> n + 1 residual blocks, the first ones halving the map (2x2 average
pooling) until it is 8x8 or smaller -> ReLU -> global sum pooling -> Dense -> one logit. Every
Dense, Conv2D and Embedding of D is spectrally normalised (``ganlab.training.spectral_norm``).

The start map is the smallest of at least 4x4 that doubles n >= 1 times into the image: 4x4
and 3 blocks at 32 px, 6x6 and 3 at 48, 4x4 and 4 at 64, 4x4 and 5 at 128 (also 7x7 and 2 at
28). Widths: a block at a map 2**j times smaller than the image has ``min(width * 2**j,
max_width)`` channels in G, and D's k-th block ``min(width * 2**k, max_width)``; without
``max_width`` every block has ``width`` (the paper's CIFAR-10 networks: G 256, D 128).
``attention: <px>`` adds a self-attention block after the (first) block whose map is that
many pixels high.

The conditional ``csngan`` components take the labels too: G's batch norms become class-
conditional (a gain and bias per class), D adds the projection term <embed(y), phi(x)> to its
logit, with a spectrally normalised embedding.

TensorFlow/Keras are imported inside the builders so that listing plugins stays fast.
"""

from __future__ import annotations

from typing import Annotated

from ganlab import AtLeast, GanlabError, hookimpl
from ganlab_plugins.conditional import _signed
from ganlab_plugins.geometry import doublings

#: The start map's height and width: at least this, and at most twice it (or the image).
MIN_START = 4
#: D halves its map until both sides are at most this.
D_END = 8

Width = Annotated[int, AtLeast(1)]
Pixels = Annotated[int, AtLeast(1)]


@hookimpl
def register_generators(register):
    register("sngan", sngan_generator)
    register("csngan", csngan_generator)


@hookimpl
def register_discriminators(register):
    register("sngan", sngan_discriminator)
    register("csngan", csngan_discriminator)


def sngan_generator(
    latent_dim: int,
    image_shape: tuple,
    width: Width = 64,
    max_width: Width | None = None,
    attention: Pixels | None = None,
):
    """Residual generator of SNGAN (Miyato et al. 2018): z -> Dense -> start map -> residual up-blocks -> tanh.

    Parameters:
        latent_dim: length of z (supplied by ganlab).
        image_shape: shape of one image (supplied by ganlab): height and width a start of
            4..8 (or the image itself) doubled n >= 1 times: 32, 48, 64, 128, ...
        width: channels of the last (full-resolution) block; the paper's CIFAR-10 G has 256.
        max_width: with it, channels double at each halving of the map up to this many
            (the 48-128 px networks of the papers); without it every block has ``width``.
        attention: insert a self-attention block after the block whose map is this many
            pixels high (e.g. 16 at 32 px); null for none.
    """
    return _generator("generator sngan", latent_dim, image_shape, None, width, max_width, attention)


def sngan_discriminator(
    image_shape: tuple,
    width: Width = 64,
    max_width: Width | None = None,
    attention: Pixels | None = None,
):
    """Residual discriminator of SNGAN: spectrally normalised residual blocks -> ReLU -> sum pooling -> Dense.

    Parameters:
        image_shape: shape of one image (supplied by ganlab); the sizes the generator takes.
        width: channels of the first block; the paper's CIFAR-10 D has 128.
        max_width: with it, channels double from block to block up to this many; without
            it every block has ``width``.
        attention: insert a self-attention block after the first block whose map is this
            many pixels high (e.g. 16 at 32 px); null for none.
    """
    return _discriminator("discriminator sngan", image_shape, None, width, max_width, attention)


def _csngan_generator(latent_dim, image_shape, num_classes, **params):
    """Conditional SNGAN generator: [z, label] -> the sngan generator with class-conditional batch norm.

    Parameters: as for generator sngan; ``num_classes`` is supplied by ganlab.
    """
    _check("generator csngan", "num_classes", num_classes >= 1, ">= 1 (a dataset with labels)", num_classes)
    return _generator("generator csngan", latent_dim, image_shape, num_classes, **params)


def _csngan_discriminator(image_shape, num_classes, **params):
    """Conditional SNGAN discriminator: [image, label] -> sngan features -> the projection logit.

    The logit is dense(phi(x)) + <embed(label), phi(x)> (Miyato & Koyama 2018), both spectrally
    normalised. Parameters: as for discriminator sngan; ``num_classes`` is supplied by ganlab.
    """
    _check("discriminator csngan", "num_classes", num_classes >= 1, ">= 1 (a dataset with labels)", num_classes)
    return _discriminator("discriminator csngan", image_shape, num_classes, **params)


csngan_generator = _signed(_csngan_generator, sngan_generator, {})
csngan_discriminator = _signed(_csngan_discriminator, sngan_discriminator, {})


def _generator(where, latent_dim, image_shape, num_classes, width=64, max_width=None, attention=None):
    import keras

    from ganlab_plugins import sngan_blocks as blocks

    n, start_h, start_w = _geometry(where, image_shape, width, max_width)
    sizes = [start_h * 2 ** (i + 1) for i in range(n)]  # each block's output height
    _check_attention(where, attention, sizes)
    channels = _widths(width, max_width, n + 1)  # by halvings from the image: [image, ..., start]
    z = keras.Input(shape=(latent_dim,), name="z")
    labels = None if num_classes is None else keras.Input(shape=(), dtype="int32", name="labels")
    x = keras.layers.Dense(start_h * start_w * channels[n])(z)
    x = keras.layers.Reshape((start_h, start_w, channels[n]))(x)
    for i, size in enumerate(sizes):
        x = blocks.up_block(x, channels[n - 1 - i], labels, num_classes)
        if size == attention:
            x = blocks.attention(x, blocks.plain, blocks.zero_conv)
    x = keras.layers.ReLU()(blocks.norm(x))
    image = blocks.conv(blocks.plain, x, int(image_shape[-1]), 3, activation="tanh", name="image")
    model = keras.Model(z if labels is None else [z, labels], image, name="generator")
    model.output_range = (-1.0, 1.0)
    return model


def _discriminator(where, image_shape, num_classes, width=64, max_width=None, attention=None):
    import keras

    from ganlab.training.spectral_norm import SpectralNorm
    from ganlab_plugins import sngan_blocks as blocks

    n, _, _ = _geometry(where, image_shape, width, max_width)
    height, side = int(image_shape[0]), max(image_shape[:2])
    downs = 0
    while downs < n and side // 2**downs > D_END:
        downs += 1
    sizes = [height // 2 ** min(k + 1, downs) for k in range(n + 1)]  # each block's output height
    _check_attention(where, attention, sizes)
    channels = _widths(width, max_width, n + 1)
    images = keras.Input(shape=tuple(image_shape), name="images")
    x, attended = images, False
    for k, size in enumerate(sizes):
        x = blocks.down_block(x, channels[k], SpectralNorm, downsample=k < downs, first=k == 0)
        if size == attention and not attended:
            x, attended = blocks.attention(x, SpectralNorm, blocks.sn_gain(SpectralNorm)), True
    x = keras.layers.ReLU()(x)
    area = x.shape[1] * x.shape[2]
    phi = keras.layers.Rescaling(float(area))(keras.layers.GlobalAveragePooling2D()(x))  # global sum pooling
    logit = SpectralNorm(keras.layers.Dense(1), name="logit")(phi)
    if num_classes is None:
        return keras.Model(images, logit, name="discriminator")
    labels = keras.Input(shape=(), dtype="int32", name="labels")
    embedded = SpectralNorm(keras.layers.Embedding(num_classes, phi.shape[-1]), name="label_projection")(labels)
    score = keras.layers.Add()([logit, keras.layers.Dot(axes=1)([embedded, phi])])
    return keras.Model([images, labels], score, name="discriminator")


def _geometry(where, image_shape, width, max_width):
    """``(n, start_h, start_w)``: the most doublings from a start map of >= 4 pixels to the image.

    Also validates the widths, which every builder shares.
    """
    _check(where, "width", width >= 1, ">= 1", width)
    _check(where, "max_width", max_width is None or max_width >= width, "null or >= width", max_width)
    shape = tuple(image_shape)
    n, start_h, start_w = doublings(shape, MIN_START)
    ok = n >= 1 and max(start_h, start_w) < 2 * MIN_START
    expected = f"(height, width, channels), height and width {MIN_START}..{2 * MIN_START - 1} times 2**n, n >= 1 "
    _check(where, "image_shape", ok, expected + "(e.g. 32, 48, 64, 128)", shape)
    return n, start_h, start_w


def _widths(width, max_width, count):
    """Channels at 0, 1, ... halvings from the image: ``width`` doubled at each, up to ``max_width``."""
    return [width if max_width is None else min(width * 2**j, max_width) for j in range(count)]


def _check_attention(where, attention, sizes):
    if attention is not None:
        choices = sorted(set(sizes))
        expected = f"null or one of {choices} (the blocks' map heights)"
        _check(where, "attention", attention in choices, expected, attention)


def _check(where, name, ok, expected, found):
    if not ok:
        raise GanlabError(f"{where}: {name} must be {expected}, found {found!r}")
