"""Memory: a rough estimate of what a recipe needs, checked against this machine before
anything is built, and allocation failures turned into one line.

The estimate adds up what ganlab knows from the recipe's shapes: G's and D's weights
(counted by building both models symbolically, without allocating them; see
``count_weights``), a train step's batches and activations, and the sample grids. It is
rough on purpose, an order of magnitude that catches a typo such as
``generator.hidden: [1000000000]`` before TensorFlow asks for terabytes; a recipe whose
estimate fits can still run out of memory, and then ``allocating`` reports that as one
line too. Nothing here imports TensorFlow at module level: the CLI uses
``is_allocation_failure`` for every command.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from dataclasses import dataclass

import numpy as np

from ganlab.errors import GanlabError

GiB = 2**30
FLOAT = 4  # bytes of a float32: weights, optimizer state and activations
#: Per weight: the weight, its gradient, Adam's two moments and the copy a checkpoint is written from.
WEIGHT_COPIES = 5
#: Messages of allocation failures that arrive as other exception types (TensorFlow, XLA, NumPy).
ALLOCATION_WORDS = ("oom when allocating", "failed to allocate", "unable to allocate", "out of memory", "bad_alloc")


@dataclass
class Part:
    """One thing that takes memory: what it is, its size in bytes, and the settings that size it."""

    what: str
    bytes: float
    settings: str


def available_bytes() -> int | None:
    """Memory this process can still use: MemAvailable from /proc/meminfo, else all physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def size_settings(recipe, section) -> list[str]:
    """The keys of a component section that can size its model: whole numbers and lists of them."""
    found = []
    for key, value in recipe[section].items():
        numbers = list(value) if isinstance(value, (list, tuple)) else [value]
        if key != "name" and numbers and all(isinstance(v, int) and not isinstance(v, bool) for v in numbers):
            found.append(f"{section}.{key}")
    return found


def estimate(recipe, image_shape, weights=(None, None), activations=(None, None)) -> list[Part]:
    """What a run of ``recipe`` on images of ``image_shape`` needs, part by part (rough).

    ``weights`` are G's and D's parameter counts and ``activations`` their activation values
    per example (``count_weights``); None leaves that part out.
    """
    t, out = recipe["training"], recipe["output"]
    pixels, latent = math.prod(image_shape), t["latent_dim"]
    batch, k = t["batch_size"], t["d_steps"]
    g_sizes = " or ".join(["training.latent_dim", *size_settings(recipe, "generator")])
    d_sizes = " or ".join(size_settings(recipe, "discriminator")) or "the discriminator's sizes"
    images = f"the size of the dataset's images ({'x'.join(map(str, image_shape))})"
    parts = [
        # k real batches in flight (and the next prefetched), their z
        Part("the real batches and z of a train step", 2 * batch * k * (pixels + latent) * FLOAT,
             f"training.batch_size or training.d_steps or {images}"),
        # fixed z, G's images and the real grid as float64
        Part(f"the {out['grid']}x{out['grid']} sample grids", out["grid"] ** 2 * (latent + 3 * pixels) * FLOAT,
             f"output.grid or {images}"),
    ]
    g, d = weights
    copies = WEIGHT_COPIES + (1 if t.get("ema") else 0)  # an EMA of G is one more copy of its weights
    if g is not None:
        parts.append(Part(f"G's weights ({g:,} parameters)", g * copies * FLOAT, g_sizes))
    if d is not None:
        parts.append(Part(f"D's weights ({d:,} parameters)", d * WEIGHT_COPIES * FLOAT, d_sizes))
    g_act, d_act = activations
    if g_act is not None and d_act is not None:
        # G on a batch, D on real and fake, each value kept for the backward pass with its gradient
        per_example = 2 * (g_act + 2 * d_act) * FLOAT
        parts.append(Part(f"a train step's activations (batch of {batch})", batch * per_example,
                          f"training.batch_size or the models' sizes ({g_sizes})"))
    return parts


def check_fits(parts, available=None, what="this recipe"):
    """Refuse, in one line with the numbers, when ``parts`` add up to more than ``available`` bytes."""
    available = available_bytes() if available is None else available
    need = sum(p.bytes for p in parts)
    if available is None or need <= available:
        return
    largest = sorted(parts, key=lambda p: -p.bytes)
    shown = "; ".join(f"{p.what} {p.bytes / GiB:,.1f} GiB" for p in largest[:3])
    raise GanlabError(
        f"{what} needs about {need / GiB:,.1f} GiB of memory but this machine has {available / GiB:,.1f} GiB "
        f"available ({shown}): lower {largest[0].settings}"
    )


def is_allocation_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a failed allocation: MemoryError (NumPy's
    ``_ArrayMemoryError`` included), TensorFlow's ResourceExhaustedError, or a message saying so."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
            return True
        text = str(exc)[:2000].lower()
        if any(word in text for word in ALLOCATION_WORDS):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def allocation_message(exc: BaseException, what=None, settings=None) -> str:
    """One line for a failed allocation: what was being allocated (if known) and what to lower."""
    detail = " ".join(str(exc).split())
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    head = f"out of memory while allocating {what}" if what else "out of memory"
    lower = f"lower {settings}" if settings else "lower the sizes in the recipe (batch size, model widths, grid)"
    return f"{head} ({type(exc).__name__}{': ' + detail if detail else ''}); {lower}"


@contextlib.contextmanager
def allocating(what, settings=None):
    """Turn an allocation failure inside the block into a one-line GanlabError."""
    try:
        yield
    except GanlabError:
        raise
    except Exception as exc:
        if not is_allocation_failure(exc):
            raise
        raise GanlabError(allocation_message(exc, what, settings)) from None


def count_weights(builder, kwargs):
    """(parameters, activation values per example) of the model ``builder(**kwargs)`` returns,
    built symbolically: Keras defers the variables created in a ``StatelessScope``, so even a
    terabyte model costs milliseconds and no memory. (None, None) if the builder cannot be
    built that way (it runs the model eagerly, say); then only the real build finds out.

    Keras' global state (the queue of deferred variables, layer-name counters) and the random
    generators that seeds are drawn from are put back as they were, so that the real build
    that follows gets the same names and seeds as without this count.
    """
    import keras
    from keras.src.backend.common import global_state
    from keras.src.backend.common.stateless_scope import StatelessScope

    from ganlab.training.layers import leaf_layers

    queued = global_state.get_global_attribute("uninitialized_variables")
    queued = None if queued is None else list(queued)  # the scope appends to this very list
    names = global_state.get_global_attribute("object_name_uids")
    names = None if names is None else names.copy()
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with StatelessScope(initialize_variables=False):
            model = builder(**kwargs)
        if not isinstance(model, keras.Model):
            return None, None
        weights = sum(math.prod(v.shape) for v in model.weights)
        activations = 0
        for layer in leaf_layers(model):
            with contextlib.suppress(Exception):
                outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
                activations += sum(math.prod(o.shape[1:]) for o in outputs)
        return int(weights), int(activations)
    except Exception:  # noqa: BLE001  the real build reports what is wrong with the builder
        return None, None
    finally:
        global_state.set_global_attribute("uninitialized_variables", queued)
        global_state.set_global_attribute("object_name_uids", names)
        random.setstate(py_state)
        np.random.set_state(np_state)
