"""The DCGAN generator and discriminator (Radford, Metz & Chintala 2015).

G: z [-> Dense -> BN -> ReLU] -> Dense -> BN -> ReLU -> Reshape(start)
   -> [Conv2DTranspose(stride 2) -> BN -> ReLU]* -> Conv2DTranspose(stride 2) -> tanh -> image;
   the filters halve at each doubling.
D: image -> Conv2D(stride 2) -> LeakyReLU -> [Conv2D(stride 2) -> BN -> LeakyReLU]*
   -> Flatten [-> Dense -> LeakyReLU] -> Dense(1), a logit; the filters double at each halving.

Both follow the paper's guidelines: strided convolutions instead of pooling, batch norm
in both players except G's output and D's input layer, ReLU in G and LeakyReLU(0.2) in D,
weights drawn from N(0, 0.02). The number of doublings comes from the image size: the
largest n for which height and width are 2**n times a start size of at least 3 (28 -> 7x7
and 2 doublings, 32 -> 4x4 and 3, 64 -> 4x4 and 4). The Dense layers in brackets
(``dense_units``) are not in the paper: they give the narrow, CPU-sized networks of
recipes/dcgan_mnist.yaml the capacity they lacked (docs/results.md). ``spectral_norm``
wraps every Conv2D and Dense of D in ganlab's ``SpectralNorm`` (Miyato et al. 2018), whose
power iteration the engine advances in D's step only (docs/plugins.md).

TensorFlow/Keras are imported inside the builders so that listing plugins stays fast.
"""

from __future__ import annotations

from typing import Annotated, Literal

from ganlab import AtLeast, GanlabError, Range, hookimpl
from ganlab_plugins.geometry import doublings

#: The range of G's pixels for each output activation; real images are scaled to match.
OUTPUT_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}

#: Bounds of the start feature map's height and width (G's first map, D's last).
MIN_START, MAX_START = 3, 8

#: Constraints ``ganlab check`` reads from the signatures (the builders check them again).
Count = Annotated[int, AtLeast(1)]
Units = Annotated[int, AtLeast(0)]
Slope = Annotated[float, AtLeast(0)]
Momentum = Annotated[float, Range(0, 1, low_open=True, high_open=True)]
Rate = Annotated[float, Range(0, 1, high_open=True)]

#: Standard deviation of the paper's N(0, 0.02) weight initialisation.
INIT_STDDEV = 0.02


@hookimpl
def register_generators(register):
    register("dcgan", dcgan_generator)


@hookimpl
def register_discriminators(register):
    register("dcgan", dcgan_discriminator)


def dcgan_generator(
    latent_dim: int,
    image_shape: tuple,
    base_filters: Count = 128,
    kernel_size: Count = 4,
    batch_norm: bool = True,
    bn_momentum: Momentum = 0.9,
    leaky_slope: Slope = 0.0,
    output_activation: Literal["tanh", "sigmoid"] = "tanh",
    dense_units: Units = 0,
):
    """Convolutional generator: z -> Dense -> strided Conv2DTranspose stack -> image (DCGAN).

    Parameters:
        latent_dim: length of z (supplied by ganlab).
        image_shape: shape of one image, e.g. ``(28, 28, 1)`` (supplied by ganlab). Height
            and width must be a start size of 3..8 doubled at least once (28, 32, 64, ...).
        base_filters: filters of the last upsampling block; each earlier block has twice
            as many, so the start map has ``base_filters * 2**(n - 1)`` for n doublings.
        kernel_size: size of the square Conv2DTranspose kernels (4 divides the stride of 2,
            which avoids checkerboard artefacts).
        batch_norm: add BatchNormalization after the Dense layer and each hidden block.
        bn_momentum: moving-average momentum of BatchNormalization (Keras convention: the
            weight of the old average; 0.9 is PyTorch's 0.1).
        leaky_slope: negative slope of the hidden activations; 0 is the paper's ReLU.
        output_activation: ``tanh`` makes pixels in [-1, 1], ``sigmoid`` in [0, 1]; the
            returned model's ``output_range`` says which.
        dense_units: width of a Dense [-> BN] -> activation layer between z and the
            projection to the start map; 0 is the paper's single projection.
    """
    where = "generator dcgan"
    _check_common(where, base_filters, kernel_size, leaky_slope, bn_momentum, dense_units)
    _check(where, "output_activation", output_activation in OUTPUT_RANGES, "'tanh' or 'sigmoid'", output_activation)
    doublings, start_h, start_w = _doublings(where, image_shape)
    import keras

    momentum = bn_momentum if batch_norm else None
    filters = base_filters * 2 ** (doublings - 1)
    x = z = keras.Input(shape=(latent_dim,), name="z")
    widths = ([dense_units] if dense_units else []) + [start_h * start_w * filters]  # the last one is the projection
    for units in widths:
        dense = keras.layers.Dense(units, use_bias=not batch_norm, kernel_initializer=_init())
        x = _block(x, dense, momentum, leaky_slope)
    x = keras.layers.Reshape((start_h, start_w, filters))(x)
    for _ in range(doublings - 1):
        filters //= 2
        conv = _conv(keras.layers.Conv2DTranspose, filters, kernel_size, use_bias=not batch_norm)
        x = _block(x, conv, momentum, leaky_slope)
    channels = int(image_shape[-1])
    x = _conv(keras.layers.Conv2DTranspose, channels, kernel_size, activation=output_activation, name="image")(x)
    model = keras.Model(z, x, name="generator")
    model.output_range = OUTPUT_RANGES[output_activation]
    return model


def dcgan_discriminator(
    image_shape: tuple,
    base_filters: Count = 64,
    kernel_size: Count = 4,
    leaky_slope: Slope = 0.2,
    dropout: Rate = 0.0,
    batch_norm: bool = True,
    bn_momentum: Momentum = 0.9,
    dense_units: Units = 0,
    spectral_norm: bool = False,
):
    """Convolutional discriminator: image -> strided Conv2D stack -> one logit (DCGAN).

    The output is a raw logit, no sigmoid: the loss owns the link function.

    Parameters:
        image_shape: shape of one image, e.g. ``(28, 28, 1)`` (supplied by ganlab); the
            same sizes as the DCGAN generator accepts.
        base_filters: filters of the first convolution; each later one has twice as many.
        kernel_size: size of the square Conv2D kernels.
        leaky_slope: negative slope of the LeakyReLU after each convolution.
        dropout: dropout rate after each convolution block; 0 turns dropout off.
        batch_norm: add BatchNormalization after every convolution but the first.
        bn_momentum: moving-average momentum of BatchNormalization (Keras convention).
        dense_units: width of a Dense -> LeakyReLU [-> Dropout] layer between the
            flattened last block and the logit; 0 is the paper's logit straight from the
            convolutions. A cheaper way to give D capacity than wider convolutions.
        spectral_norm: divide the kernel of every Conv2D and Dense by its largest singular
            value (SNGAN's D, without its residual blocks). Batch norm is allowed with it,
            though SNGAN has none in D: set ``batch_norm: false`` for the paper's setting.
    """
    where = "discriminator dcgan"
    _check_common(where, base_filters, kernel_size, leaky_slope, bn_momentum, dense_units)
    _check(where, "dropout", 0 <= dropout < 1, "in [0, 1)", dropout)
    doublings, _, _ = _doublings(where, image_shape)
    import keras

    from ganlab.training.spectral_norm import SpectralNorm

    def wrap(layer):
        # The wrapper takes the layer's name: the conditional D finds its features as the input of "logit".
        return SpectralNorm(layer, name=layer.name) if spectral_norm else layer

    images = keras.Input(shape=tuple(image_shape), name="images")
    x = images
    for i in range(doublings):
        momentum = bn_momentum if batch_norm and i > 0 else None
        conv = _conv(keras.layers.Conv2D, base_filters * 2**i, kernel_size, use_bias=momentum is None)
        x = _block(x, wrap(conv), momentum, leaky_slope, dropout)
    x = keras.layers.Flatten()(x)
    if dense_units:
        dense = keras.layers.Dense(dense_units, kernel_initializer=_init())
        x = _block(x, wrap(dense), None, leaky_slope, dropout)
    x = wrap(keras.layers.Dense(1, kernel_initializer=_init(), name="logit"))(x)
    return keras.Model(images, x, name="discriminator")


def _doublings(where, image_shape):
    """``(n, start_h, start_w)``: the most stride-2 doublings from a start of >= 3 to the image."""
    shape = tuple(image_shape)
    n, start_h, start_w = doublings(shape, MIN_START)
    ok = n >= 1 and max(start_h, start_w) <= MAX_START
    expected = (
        f"(height, width, channels) with height and width {MIN_START}..{MAX_START} times 2**n, n >= 1 (e.g. 28, 32, 64)"
    )
    _check(where, "image_shape", ok, expected, shape)
    return n, start_h, start_w


def _block(x, layer, bn_momentum=None, leaky_slope=0.0, dropout=0.0):
    """layer [-> BatchNorm] -> ReLU/LeakyReLU [-> Dropout]."""
    import keras

    from ganlab.training.layers import HashDropout

    x = layer(x)
    if bn_momentum is not None:
        x = keras.layers.BatchNormalization(momentum=bn_momentum)(x)
    x = keras.layers.LeakyReLU(negative_slope=leaky_slope)(x) if leaky_slope > 0 else keras.layers.ReLU()(x)
    if dropout > 0:
        x = HashDropout(dropout)(x)
    return x


def _conv(layer_class, filters, kernel_size, **kwargs):
    """A stride-2, 'same'-padded (transposed) convolution with the paper's initialisation."""
    return layer_class(filters, kernel_size, strides=2, padding="same", kernel_initializer=_init(), **kwargs)


def _init():
    # A fresh initializer per layer: Keras warns when one unseeded instance is reused.
    import keras

    return keras.initializers.RandomNormal(stddev=INIT_STDDEV)


def _check_common(where, base_filters, kernel_size, leaky_slope, bn_momentum, dense_units):
    """Validate the parameters both builders share."""
    _check(where, "base_filters", base_filters >= 1, ">= 1", base_filters)
    _check(where, "kernel_size", kernel_size >= 1, ">= 1", kernel_size)
    _check(where, "leaky_slope", leaky_slope >= 0, ">= 0", leaky_slope)
    _check(where, "bn_momentum", 0 < bn_momentum < 1, "in (0, 1)", bn_momentum)
    _check(where, "dense_units", dense_units >= 0, ">= 0", dense_units)


def _check(where, name, ok, expected, found):
    if not ok:
        raise GanlabError(f"{where}: {name} must be {expected}, found {found!r}")
