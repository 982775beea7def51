"""The classic MLP GAN (Goodfellow et al. 2014), as popularised by the Keras MLP GAN examples.

G: z -> [Dense -> LeakyReLU -> BatchNorm -> Dropout]* -> Dense -> tanh -> image.
D: image -> Flatten -> [Dense -> LeakyReLU -> Dropout]* -> Dense(1), a logit.
Dropout is ganlab.training.layers.HashDropout: Keras' Dropout with cheaper random masks.

TensorFlow/Keras are imported inside the builders so that listing plugins stays fast.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from ganlab import AtLeast, GanlabError, Range, hookimpl

#: Constraints ``ganlab check`` reads from the signatures (the builders check them again).
Units = Annotated[int, AtLeast(1)]
Slope = Annotated[float, AtLeast(0)]
Momentum = Annotated[float, Range(0, 1, low_open=True, high_open=True)]
Rate = Annotated[float, Range(0, 1, high_open=True)]

#: The range of G's pixels for each output activation; real images are scaled to match.
OUTPUT_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


@hookimpl
def register_generators(register):
    register("mlp", mlp_generator)


@hookimpl
def register_discriminators(register):
    register("mlp", mlp_discriminator)


def mlp_generator(
    latent_dim: int,
    image_shape: tuple,
    hidden: tuple[Units, ...] = (256, 512, 1024),
    leaky_slope: Slope = 0.2,
    batch_norm: bool = True,
    bn_momentum: Momentum = 0.8,
    dropout: Rate = 0.0,
    output_activation: Literal["tanh", "sigmoid"] = "tanh",
):
    """Fully connected generator: z -> Dense layers -> image (classic Keras MLP GAN).

    Parameters:
        latent_dim: length of z (supplied by ganlab).
        image_shape: shape of one image, e.g. ``(28, 28, 1)`` (supplied by ganlab).
        hidden: units of each hidden Dense layer, in order.
        leaky_slope: negative slope of the LeakyReLU after each hidden layer.
        batch_norm: add BatchNormalization after each hidden activation.
        bn_momentum: moving-average momentum of BatchNormalization (Keras convention:
            the weight of the old average). 0.8 is what the classic Keras MLP GAN used.
        dropout: dropout rate after each hidden layer; 0 turns dropout off.
        output_activation: ``tanh`` makes pixels in [-1, 1], ``sigmoid`` in [0, 1]; the
            returned model's ``output_range`` says which.
    """
    where = "generator mlp"
    _check_blocks(where, hidden, leaky_slope, dropout)
    _check(where, "bn_momentum", 0 < bn_momentum < 1, "in (0, 1)", bn_momentum)
    _check(where, "output_activation", output_activation in OUTPUT_RANGES, "'tanh' or 'sigmoid'", output_activation)
    import keras

    image_shape = tuple(image_shape)
    z = keras.Input(shape=(latent_dim,), name="z")
    x = _dense_blocks(z, hidden, leaky_slope, dropout, bn_momentum if batch_norm else None)
    x = keras.layers.Dense(math.prod(image_shape), activation=output_activation)(x)
    model = keras.Model(z, keras.layers.Reshape(image_shape)(x), name="generator")
    model.output_range = OUTPUT_RANGES[output_activation]
    return model


def mlp_discriminator(
    image_shape: tuple,
    hidden: tuple[Units, ...] = (512, 256),
    leaky_slope: Slope = 0.2,
    dropout: Rate = 0.0,
):
    """Fully connected discriminator: image -> Dense layers -> one logit (classic Keras MLP GAN).

    The output is a raw logit, no sigmoid: the loss owns the link function.

    Parameters:
        image_shape: shape of one image, e.g. ``(28, 28, 1)`` (supplied by ganlab).
        hidden: units of each hidden Dense layer, in order.
        leaky_slope: negative slope of the LeakyReLU after each hidden layer.
        dropout: dropout rate after each hidden layer; 0 turns dropout off.
    """
    _check_blocks("discriminator mlp", hidden, leaky_slope, dropout)
    import keras

    images = keras.Input(shape=tuple(image_shape), name="images")
    x = _dense_blocks(keras.layers.Flatten()(images), hidden, leaky_slope, dropout)
    return keras.Model(images, keras.layers.Dense(1, name="logit")(x), name="discriminator")


def _dense_blocks(x, hidden, leaky_slope, dropout, bn_momentum=None):
    """Dense -> LeakyReLU [-> BatchNorm] [-> Dropout] for each hidden size."""
    import keras

    from ganlab.training.layers import HashDropout

    for units in hidden:
        x = keras.layers.Dense(units)(x)
        x = keras.layers.LeakyReLU(negative_slope=leaky_slope)(x)
        if bn_momentum is not None:
            x = keras.layers.BatchNormalization(momentum=bn_momentum)(x)
        if dropout > 0:
            x = HashDropout(dropout)(x)
    return x


def _check_blocks(where, hidden, leaky_slope, dropout):
    """Validate the parameters both builders share."""
    _check(where, "hidden", all(units >= 1 for units in hidden), "sizes >= 1", list(hidden))
    _check(where, "leaky_slope", leaky_slope >= 0, ">= 0", leaky_slope)
    _check(where, "dropout", 0 <= dropout < 1, "in [0, 1)", dropout)


def _check(where, name, ok, expected, found):
    if not ok:
        raise GanlabError(f"{where}: {name} must be {expected}, found {found!r}")
