"""What a builder must return, checked every time a component is built.

One function per kind, each its row's ``contract`` in :data:`ganlab.components.kinds.KINDS`:
:meth:`ganlab.components.component.Component.build` runs it on whatever a builder returns, so
``ganlab run`` (before it writes anything), ``ganlab eval``, ``ganlab bench`` and
``ganlab check-plugin`` all stop a broken plugin with the same one line, naming the kind,
the plugin and the component: a builder that returns the wrong type, a model of the
wrong shape, a dataset whose images are not one uint8 array of one size.

Each takes ``where`` (the kind and the component, to start the message), what the builder
returned, and the builder's arguments (the context arguments included); it returns nothing
or raises a one-line :class:`GanlabError`. Keras and NumPy are imported inside: listing
components imports this module.
"""

from __future__ import annotations

from ganlab.components.interfaces import ImageData, ImageFiles, Loss
from ganlab.errors import GanlabError, one_line


def check_generator(where: str, model, kwargs: dict) -> None:
    """A ``keras.Model`` that maps a batch of z to images of ``image_shape``."""
    image_shape = tuple(kwargs["image_shape"])
    out = _call(where, model, (2, kwargs["latent_dim"]), kwargs)
    if tuple(out.shape) != (2, *image_shape):
        raise GanlabError(
            f"{where}: the model makes images of shape {tuple(out.shape[1:])} for image_shape {image_shape}"
        )


def check_discriminator(where: str, model, kwargs: dict) -> None:
    """A ``keras.Model`` that maps a batch of images to one logit per image."""
    out = _call(where, model, (2, *tuple(kwargs["image_shape"])), kwargs)
    if tuple(out.shape) != (2, 1):
        raise GanlabError(
            f"{where}: the model makes shape {tuple(out.shape[1:])} per image: "
            "it must output one logit per image, (batch, 1), without a sigmoid"
        )


def check_loss(where: str, loss, kwargs: dict) -> None:
    """A :class:`ganlab.Loss`."""
    if not isinstance(loss, Loss):
        raise GanlabError(f"{where}: the builder must return a ganlab.Loss, it returned {_type_of(loss)}")


def _call(where, model, given, kwargs):
    """``model``'s output for a batch of zeros of shape ``given`` (with labels if conditional)."""
    import keras
    import numpy as np

    if not isinstance(model, keras.Model):
        raise GanlabError(f"{where}: the builder must return a keras.Model, it returned {_type_of(model)}")
    inputs = np.zeros(given, np.float32)
    if "num_classes" in kwargs:  # conditional: the labels are the model's second input
        inputs, given = [inputs, np.zeros(2, np.int32)], f"{given} with labels of shape (2,)"
    try:
        return model(inputs, training=False)
    except Exception as exc:
        raise GanlabError(f"{where}: the model fails on a batch of shape {given}: {one_line(exc)}") from exc


def check_dataset(where: str, data, kwargs: dict) -> None:
    """A :class:`ganlab.ImageData` of one uint8 array (or files) of one image size, labels optional."""
    import numpy as np

    if not isinstance(data, ImageData):
        raise GanlabError(f"{where}: the builder must return a ganlab.ImageData, it returned {_type_of(data)}")
    images = data.images
    if isinstance(images, (list, tuple)) or (isinstance(images, np.ndarray) and images.dtype == object):
        shapes = [np.shape(image) for image in images]
        odd = next((i for i, shape in enumerate(shapes) if shape != shapes[0]), None)
        if odd is not None:
            raise GanlabError(
                f"{where}: images have inconsistent shapes: image 0 is {shapes[0]}, image {odd} is {shapes[odd]}; "
                "every image must have the same (height, width, channels)"
            )
        raise GanlabError(
            f"{where}: images must be one numpy array (n, height, width, channels), "
            f"found a {type(images).__name__} of {len(shapes)} images; np.stack them"
        )
    if not isinstance(images, (np.ndarray, ImageFiles)):
        raise GanlabError(
            f"{where}: images must be a uint8 numpy array (n, height, width, channels) or a ganlab.ImageFiles, "
            f"found {_type_of(images)}"
        )
    if images.ndim != 4:
        hint = "; add a channel axis with images[..., None]" if images.ndim == 3 else ""
        raise GanlabError(f"{where}: images must have shape (n, height, width, channels), found {images.shape}{hint}")
    if images.dtype != np.uint8:
        raise GanlabError(f"{where}: images must be uint8 (0..255), found {images.dtype}")
    if len(images) == 0 or images.shape[-1] not in (1, 3):
        raise GanlabError(
            f"{where}: found images of shape {images.shape}; "
            "ganlab needs at least one image with 1 (grayscale) or 3 (RGB) channels"
        )
    if data.labels is not None:
        labels = np.asarray(data.labels)
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
            raise GanlabError(
                f"{where}: labels must be integers of shape ({len(images)},), one per image, "
                f"found {labels.dtype} {labels.shape}"
            )


def _type_of(value) -> str:
    if value is None:
        return "None"
    return f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
