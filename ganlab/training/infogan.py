"""InfoGAN modes (Chen et al. 2016): a discrete choice in z that G must make visible.

A GAN's generator is a continuous map from a connected latent space, so when the data
come in separate pieces (ten digit classes) it has to bridge them, and the bridge is
made of in-between samples (a blurred 4-or-9) that a classifier cannot name. With
``training.info_modes: n`` the first n entries of z choose one of n modes, the one-hot of
their argmax (``ganlab.training.layers.LatentModes``, put in front of G, so z stays N(0, I) or
U(-1, 1) and every sampler works unchanged), and a small head on D's last features
guesses each fake's mode. Both players minimise ``info_weight`` times the head's
cross-entropy, which maximises a lower bound on the mutual information between mode and
image: G has to give each mode a look of its own, so it learns to jump between pieces
instead of sliding. A mode need not be one class: several digits may share one (what
the modes became on MNIST is in docs/results.md, row V).

TensorFlow/Keras are imported by the functions, not the module: recipe validation (and so
``ganlab check``, which must not load TensorFlow) uses ``problems``.
"""

from __future__ import annotations

from ganlab.errors import GanlabError

#: Name of the Dense layer that guesses a fake's mode from D's features.
HEAD = "mode_guess"


def problems(info_modes: int, latent_dim, conditional: bool) -> list[str]:
    """What makes ``info_modes`` unusable with this z and this conditioning, one line each.

    Recipe validation reports them (so ``ganlab check`` does); ``check`` refuses a model
    built for labelled data all the same.
    """
    if not info_modes:
        return []
    found = []
    if latent_dim is not None and info_modes >= latent_dim:  # None: reported as invalid already
        found.append(
            f"training.info_modes ({info_modes}) must be smaller than training.latent_dim ({latent_dim}): "
            "the modes take the first entries of z and G needs continuous ones besides"
        )
    if conditional:
        found.append(
            "training.info_modes is for unconditional GANs; a conditional generator is already given the class"
        )
    return found


def check(info_modes: int, latent_dim: int, classes) -> None:
    """Raise the first of ``problems`` for a model built with ``classes`` (None: unconditional)."""
    found = problems(info_modes, latent_dim, classes is not None)
    if found:
        raise GanlabError(found[0])


def with_modes(generator, info_modes: int):
    """``generator`` with ``LatentModes(info_modes)`` in front: it reads z's first entries as a mode."""
    import keras

    from ganlab.training.layers import LatentModes

    z = keras.Input(shape=generator.inputs[0].shape[1:], name="z")
    wrapped = keras.Model(z, generator(LatentModes(info_modes)(z)), name=f"{generator.name}_with_modes")
    wrapped.output_range = getattr(generator, "output_range", (-1.0, 1.0))
    return wrapped


def mode_head(discriminator, info_modes: int):
    """A model images -> (D's logits, mode logits), sharing D's layers; the guess reads what D's last layer reads."""
    import keras

    features = discriminator.layers[-1].input
    if isinstance(features, (list, tuple)) or len(features.shape) != 2:
        raise GanlabError(
            f"training.info_modes: discriminator '{discriminator.name}' must end in a layer that reads one "
            "(batch, features) "
            "tensor (a Dense logit); the mode guess is made from those features"
        )
    guess = keras.layers.Dense(info_modes, name=HEAD, dtype="float32")(features)
    return keras.Model(discriminator.input, [discriminator.output, guess], name=f"{discriminator.name}_with_mode_guess")


def mode_loss(z, guesses):
    """Mean cross-entropy of D's mode logits ``guesses`` (batch, n) against the modes of ``z``."""
    import tensorflow as tf

    from ganlab.training.layers import latent_mode

    modes = latent_mode(z, guesses.shape[-1])
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(modes, tf.cast(guesses, tf.float32)))
