"""A convolutional discriminator with spectral normalisation on every layer (Miyato,
Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for Generative Adversarial
Networks").

Dividing each kernel by its largest singular value bounds D's Lipschitz constant, which
keeps D's gradients useful to G without batch norm or a gradient penalty.

D: image -> [SNConv 3x3 -> LeakyReLU -> SNConv 4x4 stride 2 -> LeakyReLU]*n
   -> SNConv over the whole remaining map -> one logit; the filters double at each halving.

Each convolution is wrapped in ganlab's ``SpectralNorm``, whose power iteration the engine
advances in D's step only, so D stays frozen in G's step (docs/plugins.md, "Spectral
normalisation"); it is imported inside the builder, because it needs Keras.
"""

from __future__ import annotations

import math

from ganlab import GanlabError


def sn_conv(
    image_shape: tuple,
    downsamples: int = 2,
    base_filters: int = 64,
    leaky_slope: float = 0.1,
):
    """Convolutional discriminator with spectral normalisation on every layer (SNGAN, Miyato et al. 2018).

    The output is a raw logit, no sigmoid: the loss owns the link function.

    Parameters:
        image_shape: ``(height, width, channels)`` (supplied by ganlab).
        downsamples: stride-2 halvings; 28x28 images with 2 end on a 7x7 map.
        base_filters: filters of the first block; each later block has twice as many.
        leaky_slope: negative slope of the LeakyReLU after each convolution (0.1 in SNGAN).
    """
    where = "discriminator sn_conv"
    counts = (("downsamples", downsamples), ("base_filters", base_filters))
    for name, value in counts:
        if value < 1:
            raise GanlabError(f"{where}: {name} must be >= 1, found {value}")
    if leaky_slope < 0:
        raise GanlabError(f"{where}: leaky_slope must be >= 0, found {leaky_slope}")
    import keras
    from ganlab.training.spectral_norm import SpectralNorm

    def conv(filters, kernel_size, **kwargs):
        return SpectralNorm(keras.layers.Conv2D(filters, kernel_size, padding="same", **kwargs))

    images = keras.Input(shape=tuple(image_shape), name="images")
    x = images
    for i in range(downsamples):
        for layer in (conv(base_filters * 2**i, 3), conv(base_filters * 2**i, 4, strides=2)):
            x = keras.layers.LeakyReLU(negative_slope=leaky_slope)(layer(x))
    # 'same' padding rounds up at each halving; one kernel covering the rest is SNGAN's dense layer.
    final = tuple(math.ceil(int(size) / 2**downsamples) for size in image_shape[:2])
    x = SpectralNorm(keras.layers.Conv2D(1, final, padding="valid"), name="logit")(x)
    return keras.Model(images, keras.layers.Reshape((1,))(x), name="discriminator")
