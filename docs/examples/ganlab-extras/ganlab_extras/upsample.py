"""A resize-convolution generator (Odena, Dumoulin & Olah 2016, "Deconvolution and
Checkerboard Artifacts").

A strided transposed convolution whose kernel size is not a multiple of its stride
overlaps unevenly and paints a checkerboard into the images. Upsampling by resizing
(nearest neighbour or bilinear) and then convolving with stride 1 spreads every input
pixel evenly, so there is no checkerboard to unlearn.

G: z -> Dense -> BN -> ReLU -> Reshape(start) -> [UpSampling2D(2) -> Conv2D -> BN -> ReLU]*n
   -> Conv2D -> tanh (or sigmoid) -> image; the filters halve at each doubling.
"""

from __future__ import annotations

from typing import Literal

from ganlab import GanlabError

#: The range of G's pixels for each output activation; ganlab scales real images to match.
OUTPUT_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def upsample_conv(
    latent_dim: int,
    image_shape: tuple,
    upsamples: int = 2,
    base_filters: int = 64,
    kernel_size: int = 3,
    interpolation: Literal["nearest", "bilinear"] = "nearest",
    batch_norm: bool = True,
    output_activation: Literal["tanh", "sigmoid"] = "tanh",
):
    """Convolutional generator upsampling by resizing, then convolving: no checkerboard artefacts (Odena et al. 2016).

    Parameters:
        latent_dim: length of z (supplied by ganlab).
        image_shape: ``(height, width, channels)`` (supplied by ganlab); height and width
            must be divisible by ``2**upsamples``.
        upsamples: doublings from the start feature map to the image: 28x28 images with
            2 start from 7x7.
        base_filters: filters of the last upsampling block; each earlier block has twice
            as many.
        kernel_size: size of the square stride-1 convolution kernels.
        interpolation: how the feature maps are resized, ``nearest`` (Odena et al.'s
            recommendation) or ``bilinear``.
        batch_norm: BatchNormalization after the Dense layer and each hidden convolution.
        output_activation: ``tanh`` makes pixels in [-1, 1], ``sigmoid`` in [0, 1].
    """
    where = "generator upsample_conv"
    for name, value in (("upsamples", upsamples), ("base_filters", base_filters), ("kernel_size", kernel_size)):
        if value < 1:
            raise GanlabError(f"{where}: {name} must be >= 1, found {value}")
    height, width, channels = (int(d) for d in image_shape)
    factor = 2**upsamples
    if height % factor or width % factor:
        raise GanlabError(
            f"{where}: image height and width must be divisible by 2**upsamples = {factor}, "
            f"found {height}x{width}; lower upsamples"
        )
    import keras

    filters = base_filters * 2 ** (upsamples - 1)
    z = keras.Input(shape=(latent_dim,), name="z")
    x = keras.layers.Dense(height // factor * width // factor * filters, use_bias=not batch_norm)(z)
    x = keras.layers.Reshape((height // factor, width // factor, filters))(_normalise(x, batch_norm))
    for i in range(upsamples):
        x = keras.layers.UpSampling2D(2, interpolation=interpolation)(x)
        x = keras.layers.Conv2D(filters // 2**i, kernel_size, padding="same", use_bias=not batch_norm)(x)
        x = _normalise(x, batch_norm)
    x = keras.layers.Conv2D(channels, kernel_size, padding="same", activation=output_activation, name="image")(x)
    model = keras.Model(z, x, name="generator")
    model.output_range = OUTPUT_RANGES[output_activation]
    return model


def _normalise(x, batch_norm):
    """[BatchNorm ->] ReLU."""
    import keras

    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)
