"""pluggy hook specifications: one hook per component kind.

Every hook receives ``register``, a callback owned by ganlab. A plugin calls it once
per component::

    register(name, builder)

``name`` is how recipes refer to the component (``loss: {name: hinge}``); ``builder``
is a function whose keyword parameters, with their annotations and defaults, are the
component's recipe parameters. The first line of the builder's docstring is the
one-line summary ``ganlab list`` shows. Builders import TensorFlow/Keras inside their
body, never at module import time, so listing plugins stays fast.
"""

import pluggy

hookspec = pluggy.HookspecMarker("ganlab")


@hookspec
def register_generators(register):
    """Register generators: ``register(name, builder)``.

    The builder is called as ``builder(latent_dim=..., image_shape=..., **params)`` and
    returns a ``keras.Model`` mapping a batch of z vectors ``(batch, latent_dim)`` to
    images ``(batch, *image_shape)``. If its output range is not ``[-1, 1]`` (tanh), set
    ``model.output_range = (low, high)`` on the returned model.
    """


@hookspec
def register_discriminators(register):
    """Register discriminators: ``register(name, builder)``.

    The builder is called as ``builder(image_shape=..., **params)`` and returns a
    ``keras.Model`` mapping images ``(batch, *image_shape)`` to one logit per image,
    shape ``(batch, 1)``. No sigmoid: the loss owns the link function.
    """


@hookspec
def register_losses(register):
    """Register adversarial losses: ``register(name, builder)``.

    The builder is called as ``builder(**params)`` and returns a :class:`ganlab.Loss`.
    """


@hookspec
def register_datasets(register):
    """Register datasets: ``register(name, builder)``.

    The builder is called as ``builder(**params)`` and returns a :class:`ganlab.ImageData`
    holding ``uint8`` images of shape ``(n, height, width, channels)``, or a
    :class:`ganlab.ImageFiles` that decodes them from their files as training streams them.
    """
