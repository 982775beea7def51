"""The component interfaces, and how a component's parameters are read from its builder.

A component is a builder function registered under a kind and a name. Its recipe
parameters are the builder's keyword parameters (minus the context arguments ganlab
passes itself, see ``CONTEXT_ARGS``); their annotations give the types and their
defaults the defaults. That one signature feeds recipe validation, ``ganlab list -v``
and the docs.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Any, Callable, Literal

KINDS = ("generator", "discriminator", "loss", "dataset")

#: Arguments ganlab supplies to builders of each kind; they are not recipe parameters.
CONTEXT_ARGS = {
    "generator": ("latent_dim", "image_shape"),
    "discriminator": ("image_shape",),
    "loss": (),
    "dataset": (),
}

#: Arguments ganlab supplies only to builders that name them. A generator or
#: discriminator builder with a ``num_classes`` parameter is *conditional*: ganlab passes
#: the dataset's class count (largest label + 1), and the model takes ``[z, labels]`` (G)
#: or ``[images, labels]`` (D), labels int32 of shape (batch,).
OPTIONAL_CONTEXT_ARGS = {"generator": ("num_classes",), "discriminator": ("num_classes",), "loss": (), "dataset": ()}

REQUIRED = inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class Param:
    """One recipe parameter of a component."""

    name: str
    annotation: Any
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        return type_name(self.annotation)

    def check(self, value):
        """Return ``value`` converted to this parameter's type, or raise ``TypeError``."""
        return check_value(self.annotation, value)


@dataclasses.dataclass
class Component:
    """A registered builder, and where it came from."""

    kind: str
    name: str
    builder: Callable
    plugin: str
    distribution: str | None = None
    version: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}"

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.builder) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def params(self) -> list[Param]:
        return builder_params(self.builder, CONTEXT_ARGS[self.kind] + OPTIONAL_CONTEXT_ARGS[self.kind])

    @property
    def conditional(self) -> bool:
        """Whether the builder takes ``num_classes``: its model takes labels beside z or images."""
        return is_conditional(self.kind, self.builder)

    def build(self, **kwargs):
        """Call the builder; what it returns is checked against the kind's contract."""
        from ganlab.contracts import check_built

        return check_built(self, self.builder(**kwargs), kwargs)


def is_conditional(kind: str, builder: Callable) -> bool:
    """Whether a ``kind`` builder names ``num_classes`` (``**kwargs`` alone does not count)."""
    try:
        return "num_classes" in OPTIONAL_CONTEXT_ARGS[kind] and "num_classes" in inspect.signature(builder).parameters
    except (TypeError, ValueError):  # no readable signature: builder_problem reports it
        return False


def builder_params(builder: Callable, context_args=()) -> list[Param]:
    """Read recipe parameters from a builder's signature (annotations resolved)."""
    try:
        hints = typing.get_type_hints(builder)
    except Exception:  # unresolvable annotation: fall back to the raw ones
        hints = {}
    params = []
    for p in inspect.signature(builder).parameters.values():
        if p.name in context_args or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(p.name, p.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = type(p.default) if p.default not in (REQUIRED, None) else Any
        params.append(Param(p.name, annotation, p.default))
    return params


def type_name(annotation) -> str:
    """A short, user-facing name for a type annotation."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return "any"
    if origin is Literal:
        return "|".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else type_name(a) for a in args)
    if origin in (list, tuple):
        inner = args[0] if args else Any
        return f"list of {type_name(inner)}"
    return getattr(annotation, "__name__", str(annotation))


def check_value(annotation, value):
    """Check ``value`` against ``annotation``; return it converted (int->float, list->tuple)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin is Literal:
        if value in args:
            return value
        raise TypeError(f"expected one of {', '.join(map(repr, args))}, found {value!r}")
    if origin in (typing.Union, types.UnionType):
        for option in args:
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return check_value(option, value)
            except TypeError:
                pass
        raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")
        inner = args[0] if args else Any
        return origin(check_value(inner, v) for v in value)
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, str):
        return f"str {value!r}"
    if isinstance(value, (list, tuple)):
        return f"list {list(value)!r}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclasses.dataclass
class ImageData:
    """What a dataset builder returns: the images, and their labels if it has any.

    ``images`` is a ``uint8`` array of shape ``(n, height, width, channels)`` with pixel
    values 0..255, or an :class:`ImageFiles` for a dataset too large to hold in memory;
    ``labels`` is an optional integer array of shape ``(n,)``.
    """

    images: Any
    labels: Any = None
    description: str = ""

    @property
    def image_shape(self) -> tuple:
        return tuple(int(d) for d in self.images.shape[1:])

    def __len__(self) -> int:
        return int(self.images.shape[0])


class ImageFiles:
    """Images that stay in their files until training needs them: ``ImageData.images`` for
    datasets too large to decode into memory at once.

    ``paths`` are the image files, in the dataset's order; ``image_shape`` is the
    ``(height, width, channels)`` every image decodes to; ``decode`` is a TensorFlow
    function from one path (a scalar string tensor) to a ``uint8`` tensor of
    ``image_shape``. ganlab's input stream (``ganlab.data.real_stream``) maps ``decode``
    over each batch's files with ``tf.data`` as training goes, so only the batches in
    flight are in memory. ``decode`` must succeed for every path: find unreadable files
    when building the dataset, not in the middle of training.

    It looks like the uint8 array it stands for (``shape``, ``dtype``, ``len``), and
    indexing it (``files[indices]``) decodes just those images into a numpy array, for
    the places that need pixels outside training (``real.png``, ``ganlab eval``).
    """

    ndim = 4

    def __init__(self, paths, image_shape, decode):
        self.paths = [str(p) for p in paths]
        self.shape = (len(self.paths), *(int(d) for d in image_shape))
        self.decode = decode

    @property
    def dtype(self):
        import numpy as np

        return np.dtype(np.uint8)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        import numpy as np
        import tensorflow as tf

        chosen = np.asarray(self.paths)[index]
        flat = np.atleast_1d(chosen)
        images = np.zeros((len(flat), *self.shape[1:]), np.uint8)
        if len(flat):
            decoded = tf.data.Dataset.from_tensor_slices(flat).map(self.decode, num_parallel_calls=tf.data.AUTOTUNE)
            images = decoded.batch(len(flat)).get_single_element().numpy()
        return images[0] if chosen.ndim == 0 else images

    def __array__(self, dtype=None, copy=None):
        """Every image decoded: as much memory as the dataset takes, which is why it is files."""
        images = self[:]
        return images if dtype is None else images.astype(dtype)

    def __repr__(self) -> str:
        return f"ImageFiles({len(self)} files, image_shape={self.shape[1:]})"


class Loss:
    """An adversarial loss, computed on the discriminator's raw outputs (logits).

    Subclasses implement ``d_loss`` and ``g_loss`` with TensorFlow/Keras ops and return
    scalar tensors (means over the batch). ``threshold`` is the D output above which an
    image counts as judged "real"; the engine uses it for D's accuracy.
    """

    threshold: float = 0.0

    #: Relativistic losses compare fakes with reals in G's loss too: when True, the AM
    #: step also runs D on a real batch and calls ``g_loss(fake_logits, real_logits)``.
    g_needs_real: bool = False

    def d_loss(self, real_logits, fake_logits):
        """D's loss on a batch of real outputs and a batch of fake outputs."""
        raise NotImplementedError

    def g_loss(self, fake_logits, real_logits=None):
        """G's loss (through the frozen D) on D's outputs for generated images.

        ``real_logits`` (D's outputs for a real batch) is passed only when ``g_needs_real``.
        """
        raise NotImplementedError

    def penalty(self, discriminator, real, fake, seed):
        """A term added to D's loss that needs D itself (a gradient penalty), or None.

        Called inside D's gradient tape with the real and generated images of the D step;
        ``seed`` is a ``keras.random.SeedGenerator`` for any randomness (the run's seed,
        saved in checkpoints, so that resumed runs stay exact).
        """
        return None
