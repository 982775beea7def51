"""Conditional GANs (Mirza & Osindero 2014): G and D that take the class label too.

Each conditional component wraps the unconditional one of the same family, built by that
component's own builder, so it takes exactly its parameters (they cannot drift apart):

- G ``cmlp`` / ``cdcgan``: [z, y] -> concat(z, Embedding(y)) -> the ``mlp`` / ``dcgan``
  generator, built for z of length ``latent_dim + embed_dim`` -> image.
- D ``cmlp`` / ``cdcgan``: [x, y] -> the ``mlp`` / ``dcgan`` discriminator up to its
  ``logit`` layer, the features phi(x) -> the projection logit of Miyato & Koyama
  (2018): dense(phi(x)) + <Embedding(y), phi(x)>, the dense being D's own ``logit``.

The builders take ``num_classes``, which makes them conditional: ganlab passes the
dataset's class count and feeds labels (int32, shape (batch,)) as the second input.

TensorFlow/Keras are imported inside the builders so that listing plugins stays fast.
"""

from __future__ import annotations

import inspect
import typing
from typing import Annotated

from ganlab import AtLeast, GanlabError, hookimpl
from ganlab_plugins import dcgan, mlp

#: Length of the label embedding concatenated to z, unless the recipe says otherwise.
EMBED_DIM = 50


def conditional_generator(name, family, base):
    """A conditional generator builder named ``name`` around ``base``, the builder of generator ``family``."""

    def build(latent_dim, image_shape, num_classes, embed_dim=EMBED_DIM, **params):
        import keras

        where = f"generator {name}"
        _check(where, "embed_dim", embed_dim >= 1, ">= 1", embed_dim)
        _check(where, "num_classes", num_classes >= 1, ">= 1 (a dataset with labels)", num_classes)
        z_length = latent_dim + embed_dim
        body = _base_build(where, family, base, latent_dim=z_length, image_shape=image_shape, **params)
        z = keras.Input(shape=(latent_dim,), name="z")
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        embedded = keras.layers.Embedding(num_classes, embed_dim, name="label_embedding")(labels)
        image = body(keras.layers.Concatenate()([z, embedded]))
        model = keras.Model([z, labels], image, name=f"conditional_{body.name}")
        model.output_range = getattr(body, "output_range", (-1.0, 1.0))
        return model

    summary = (
        f"Conditional {family} generator: [z, label] -> concat(z, label embedding) -> generator '{family}' -> image."
    )
    build.__doc__ = summary + """

    Parameters:
        embed_dim: length of the learned label embedding concatenated to z.
        the others: as for the unconditional generator, built for z of length latent_dim + embed_dim.
    """
    return _signed(build, base, {"embed_dim": (Annotated[int, AtLeast(1)], EMBED_DIM)})


def conditional_discriminator(name, family, base):
    """A conditional (projection) discriminator builder named ``name`` around ``base``,
    the builder of discriminator ``family``."""

    def build(image_shape, num_classes, **params):
        import keras

        where = f"discriminator {name}"
        _check(where, "num_classes", num_classes >= 1, ">= 1 (a dataset with labels)", num_classes)
        body = _base_build(where, family, base, image_shape=image_shape, **params)
        logit = body.get_layer("logit")  # phi(x) is what this last Dense layer reads
        features = keras.Model(body.inputs, logit.input, name=f"{body.name}_features")
        images = keras.Input(shape=tuple(image_shape), name="images")
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        phi = features(images)
        embedding = keras.layers.Embedding(num_classes, phi.shape[-1], name="label_projection")
        if params.get("spectral_norm"):  # a spectrally normalised body gets a normalised projection, as in SNGAN
            from ganlab.training.spectral_norm import SpectralNorm

            embedding = SpectralNorm(embedding, name="label_projection")
        projection = keras.layers.Dot(axes=1)([embedding(labels), phi])
        score = keras.layers.Add()([logit(phi), projection])
        return keras.Model([images, labels], score, name=f"conditional_{body.name}")

    summary = (
        f"Conditional {family} discriminator: [image, label] -> discriminator '{family}' features "
        "-> projection logit."
    )
    build.__doc__ = summary + """

    The logit is dense(phi(x)) + <embed(label), phi(x)> (Miyato & Koyama 2018): the inner
    product with the label's embedding makes D judge an image as the given class, so a
    fake of the wrong class scores low. Parameters: as for the unconditional discriminator.
    """
    return _signed(build, base, {})


def _base_build(where, family, base, **kwargs):
    """The unconditional body; its parameter errors are reported under the conditional name."""
    try:
        return base(**kwargs)
    except GanlabError as exc:
        raise GanlabError(str(exc).replace(f"{where.split()[0]} {family}:", f"{where} ({family} body):", 1)) from None


def _signed(build, base, extra):
    """Give ``build`` the signature ganlab reads a component's parameters from.

    That is ``base``'s context arguments, ``num_classes``, the ``extra`` parameters
    ``{name: (type, default)}``, then ``base``'s recipe parameters with their types and
    defaults: one source of truth, ``base`` itself.
    """
    hints = typing.get_type_hints(base, include_extras=True)  # with the constraints ganlab check reads
    keyword = inspect.Parameter.KEYWORD_ONLY
    own = [
        p.replace(kind=keyword, annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(base).parameters.values()
    ]
    context = [p for p in own if p.default is p.empty]
    added = [inspect.Parameter("num_classes", keyword, annotation=int)]
    added += [inspect.Parameter(n, keyword, annotation=t, default=d) for n, (t, d) in extra.items()]
    parameters = context + added + [p for p in own if p.default is not p.empty]
    build.__signature__ = inspect.Signature(parameters)
    build.__annotations__ = {p.name: p.annotation for p in parameters}
    if hasattr(base, "params_rule"):
        build.params_rule = base.params_rule
    return build


def _check(where, name, ok, expected, found):
    if not ok:
        raise GanlabError(f"{where}: {name} must be {expected}, found {found!r}")


cmlp_generator = conditional_generator("cmlp", "mlp", mlp.mlp_generator)
cdcgan_generator = conditional_generator("cdcgan", "dcgan", dcgan.dcgan_generator)
cmlp_discriminator = conditional_discriminator("cmlp", "mlp", mlp.mlp_discriminator)
cdcgan_discriminator = conditional_discriminator("cdcgan", "dcgan", dcgan.dcgan_discriminator)


@hookimpl
def register_generators(register):
    register("cmlp", cmlp_generator)
    register("cdcgan", cdcgan_generator)


@hookimpl
def register_discriminators(register):
    register("cmlp", cmlp_discriminator)
    register("cdcgan", cdcgan_discriminator)
