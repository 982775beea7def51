"""The contract checks of each kind of component, run by :class:`ganlab.conformance.runner.ComponentCheck`.

Each check is a function of the ComponentCheck ``c``: its builds in ``c.built`` (the
parameters as given first, then the variants), ``c.image_shape``, ``c.latent_dim``, and
``c.rebuilt`` and ``c.rebuild_from_recipe`` for the round trips. It returns a short line
saying what it verified, or raises :class:`ContractFailure` saying what is broken.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from ganlab.errors import one_line

BATCH = 4
#: Logits a loss must turn into finite values: ordinary ones and a confident D's.
EXTREME_LOGIT = 30.0
#: Relative difference allowed between outputs that should be the same.
TOLERANCE = 1e-5


class ContractFailure(Exception):
    """One check found the component in breach of its contract."""


def generator_output(c):
    import numpy as np

    rng = np.random.default_rng(0)
    zs = {
        "z ~ N(0, 1)": rng.standard_normal((BATCH, c.latent_dim)),
        "z ~ U(-1, 1)": rng.uniform(-1, 1, (BATCH, c.latent_dim)),
        "z ~ 10 N(0, 1)": 10 * rng.standard_normal((BATCH, c.latent_dim)),
    }
    for label, model in c.built:
        low, high = _output_range(model)
        for z_label, z in zs.items():
            for training in (False, True):
                raw = model(c.feed(z.astype(np.float32)), training=training)
                where = f"with {label}, {z_label}, training={training}"
                if "float" not in _dtype_name(raw.dtype):
                    raise ContractFailure(f"{where}: images are {_dtype_name(raw.dtype)}, expected floating point")
                out = _array(raw)
                if out.shape != (BATCH, *c.image_shape):
                    raise ContractFailure(f"{where}: output shape {out.shape}, expected {(BATCH, *c.image_shape)}")
                if not np.isfinite(out).all():
                    raise ContractFailure(f"{where}: the images hold NaN or infinite pixels")
                if out.min() < low - TOLERANCE or out.max() > high + TOLERANCE:
                    raise ContractFailure(
                        f"{where}: pixels span [{out.min():.4g}, {out.max():.4g}], outside output_range [{low}, {high}]; "
                        "end with a bounded activation (tanh, sigmoid) or set model.output_range"
                    )
    conditional = _label_matters(c, zs["z ~ N(0, 1)"].astype(np.float32), "images")
    return f"{(BATCH, *c.image_shape)} {_dtype_name(raw.dtype)} within output_range, for {len(zs)} z distributions and {len(c.built)} build(s){conditional}"


def generator_gradients(c):
    import numpy as np

    model, rng = c.built[0][1], np.random.default_rng(1)
    weights = rng.standard_normal((BATCH, *c.image_shape)).astype(np.float32)
    z = rng.standard_normal((BATCH, c.latent_dim)).astype(np.float32)
    return _gradients(model, z, lambda x: _weighted_sum(model(c.feed(x), training=True), weights), inputs=False)


def generator_round_trip(c):
    import keras
    import numpy as np

    model = c.built[0][1]
    z = np.random.default_rng(2).standard_normal((BATCH, c.latent_dim)).astype(np.float32)
    expected = _array(model(c.feed(z), training=False))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generator.keras"
        model.save(path)
        try:
            loaded = keras.models.load_model(path, compile=False)
        except Exception as exc:
            raise ContractFailure(
                f"generator.keras does not load back ({one_line(exc)}); register custom layers with keras.saving.register_keras_serializable"
            ) from None
    _same(expected, loaded(c.feed(z), training=False), "after saving to generator.keras and loading it (ganlab sample)")
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    _same(expected, clone(c.feed(z), training=False), "for keras.models.clone_model with copied weights (training.ema)")
    _same(expected, c.rebuilt(model)(c.feed(z), training=False), "after a rebuild with the checkpoint's variables copied in (--resume)")
    return "generator.keras, clone_model (EMA) and checkpoint restore give the same images"


def discriminator_output(c):
    import numpy as np

    rng = np.random.default_rng(0)
    for label, model in c.built:
        for batch in (BATCH, 1):
            images = rng.uniform(-1, 1, (batch, *c.image_shape)).astype(np.float32)
            for training in (False, True):
                out = _array(model(c.feed(images), training=training))
                where = f"with {label}, a batch of {batch}, training={training}"
                if out.shape != (batch, 1):
                    raise ContractFailure(f"{where}: output shape {out.shape}, expected one logit per image, {(batch, 1)}")
                if not np.isfinite(out).all():
                    raise ContractFailure(f"{where}: the logits hold NaN or infinite values")
    conditional = _label_matters(c, rng.uniform(-1, 1, (BATCH, *c.image_shape)).astype(np.float32), "logits")
    return f"one finite logit per image, (batch, 1), for batches of {BATCH} and 1 and {len(c.built)} build(s){conditional}"


def discriminator_gradients(c):
    import numpy as np

    model, rng = c.built[0][1], np.random.default_rng(1)
    weights = rng.standard_normal((BATCH, 1)).astype(np.float32)
    images = rng.uniform(-1, 1, (BATCH, *c.image_shape)).astype(np.float32)
    return _gradients(model, images, lambda x: _weighted_sum(model(c.feed(x), training=True), weights), inputs=True)


def discriminator_round_trip(c):
    import numpy as np

    model = c.built[0][1]
    images = np.random.default_rng(2).uniform(-1, 1, (BATCH, *c.image_shape)).astype(np.float32)
    _same(model(c.feed(images), training=False), c.rebuilt(model)(c.feed(images), training=False), "after a rebuild with the checkpoint's variables copied in (--resume)")
    return "checkpoint restore gives the same logits"


def _label_matters(c, batch, what) -> str:
    """For a conditional model: other labels with the same z or images must change its ``what``.

    Returns the words to add to the check's line ("" for an unconditional model).
    """
    import numpy as np

    if not c.component.conditional:
        return ""
    model = c.built[0][1]
    labels = np.arange(len(batch), dtype=np.int32) % c.num_classes
    first = _array(model(c.feed(batch, labels), training=False))
    other = _array(model(c.feed(batch, (labels + 1) % c.num_classes), training=False))
    if c.num_classes > 1 and np.allclose(first, other, rtol=TOLERANCE, atol=TOLERANCE):
        raise ContractFailure(f"the labels do not change the {what}: a conditional model must use its second input, the labels")
    return f"; the labels change the {what} ({c.num_classes} classes)"


def loss_values(c):
    import tensorflow as tf

    for label, loss in c.built:
        threshold = loss.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            raise ContractFailure(f"with {label}: threshold must be a finite number (D's output above which an image counts as real), found {threshold!r}")
        for logits_label, real, fake in _logit_sets():
            for dtype in ("float32", "bfloat16"):
                where = f"with {label}, {logits_label} {dtype} logits"
                real_t, fake_t = tf.cast(real, dtype), tf.cast(fake, dtype)
                _scalar(f"{where}: d_loss", loss.d_loss(real_t, fake_t))
                _scalar(f"{where}: g_loss", _g_loss(loss, fake_t, real_t))
    return f"finite scalars for ordinary, ±{EXTREME_LOGIT:g} and bfloat16 logits, for {len(c.built)} build(s); threshold {c.built[0][1].threshold!r}"


def loss_gradients(c):
    import keras
    import tensorflow as tf

    for compiled in (False, True):
        loss = c.built[0][1]
        g, d, z, real = _tiny_players()
        seed = keras.random.SeedGenerator(0)  # a variable: made outside the compiled step

        def step(z, real):
            with tf.GradientTape(persistent=True) as tape:
                fake = g(z)
                fake_logits, real_logits = d(fake), d(real)
                d_loss = loss.d_loss(real_logits, fake_logits)
                penalty = loss.penalty(d, real, fake, seed)
                if penalty is not None:
                    d_loss = d_loss + penalty
                g_loss = _g_loss(loss, fake_logits, real_logits)
            return tape.gradient(d_loss, d.trainable_variables), tape.gradient(g_loss, g.trainable_variables)

        mode = "under XLA (training.jit_compile: true)" if compiled else "eagerly"
        try:
            d_grads, g_grads = (tf.function(step, jit_compile=True) if compiled else step)(z, real)
        except Exception as exc:
            raise ContractFailure(f"fails {mode}: {_short(exc)}") from None
        _moves(f"{mode}: d_loss", "D", d_grads)
        _moves(f"{mode}: g_loss", "G (through D)", g_grads)
    return "d_loss moves D and g_loss moves G through D, eagerly and under XLA"


def _g_loss(loss, fake_logits, real_logits):
    """G's loss as the engine calls it: real logits only for losses that ask for them."""
    return loss.g_loss(fake_logits, real_logits) if loss.g_needs_real else loss.g_loss(fake_logits)


def loss_round_trip(c):
    import numpy as np

    loss = c.built[0][1]
    again = c.rebuild_from_recipe()
    for label, real, fake in _logit_sets():
        before = (loss.d_loss(real, fake), _g_loss(loss, fake, real))
        after = (again.d_loss(real, fake), _g_loss(again, fake, real))
        for which, a, b in zip(("d_loss", "g_loss"), before, after):
            if not np.allclose(_array(a), _array(b), rtol=TOLERANCE, atol=TOLERANCE):
                raise ContractFailure(f"rebuilt from recipe.yaml, {which} of {label} logits is {float(_array(b)):.6g}, was {float(_array(a)):.6g}")
    return "a rebuild from recipe.yaml gives the same values"


def dataset_images(c):
    import numpy as np

    from ganlab.training.stream import real_stream

    data = c.built[0][1]
    batch = min(len(data), 16)
    first = np.asarray(next(iter(real_stream(data.images, batch, seed=0, output_range=(-1.0, 1.0)))))
    if first.shape != (batch, *data.image_shape) or first.dtype != np.float32 or first.min() < -1 or first.max() > 1:
        raise ContractFailure(f"ganlab's input stream makes {first.dtype} batches of shape {first.shape} from these images, expected float32 {(batch, *data.image_shape)} in [-1, 1]")
    labels = "no labels" if data.labels is None else f"labels {int(np.min(data.labels))}..{int(np.max(data.labels))}"
    return f"{len(data)} images {data.image_shape} uint8, {labels}; batches of {batch} stream as {first.shape} float32"


def dataset_round_trip(c):
    import numpy as np

    data = c.built[0][1]
    again = c.rebuild_from_recipe()
    # Images kept in files (array-like, decoded on demand) are compared at both ends only.
    n = len(data)
    some = slice(None) if isinstance(data.images, np.ndarray) else np.r_[0 : min(n, 16), max(n - 16, 0) : n]
    if tuple(again.images.shape) != tuple(data.images.shape) or not np.array_equal(again.images[some], data.images[some]):
        raise ContractFailure("a second build returns other images (or another order): --resume would train on different batches")
    if (data.labels is None) != (again.labels is None) or (data.labels is not None and not np.array_equal(again.labels, data.labels)):
        raise ContractFailure("a second build returns other labels")
    return "a rebuild from recipe.yaml gives the same images and labels in the same order"


#: The checks after "parameters" and "builds", by kind, in the order they run.
KIND_CHECKS = {
    "generator": {"output": generator_output, "gradients": generator_gradients, "round trip": generator_round_trip},
    "discriminator": {"output": discriminator_output, "gradients": discriminator_gradients, "round trip": discriminator_round_trip},
    "loss": {"values": loss_values, "gradients": loss_gradients, "round trip": loss_round_trip},
    "dataset": {"images": dataset_images, "round trip": dataset_round_trip},
}


def _output_range(model):
    found = getattr(model, "output_range", (-1.0, 1.0))
    try:
        low, high = (float(v) for v in found)
    except (TypeError, ValueError):
        raise ContractFailure(f"output_range must be a pair (low, high), found {found!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ContractFailure(f"output_range must be finite with low < high, found {found!r}")
    return low, high


def _weighted_sum(outputs, weights):
    """A scalar that depends on every output element, so every used variable gets a gradient."""
    import tensorflow as tf

    return tf.reduce_sum(tf.cast(outputs, tf.float32) * weights)


def _gradients(model, x, scalar, inputs: bool):
    """Gradients of ``scalar(x)``, a weighted sum of ``model``'s outputs, eagerly and under XLA.

    Every trainable variable must get a finite gradient, some of them nonzero; with
    ``inputs`` the gradient must also reach the input (D's images: G learns through it).
    """
    import tensorflow as tf

    if not model.trainable_variables:
        raise ContractFailure("the model has no trainable variables")

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = scalar(x)
        return tape.gradient(value, [x, *model.trainable_variables])

    for compiled in (False, True):
        mode = "under XLA (training.jit_compile: true)" if compiled else "eagerly"
        try:
            grads = (tf.function(step, jit_compile=True) if compiled else step)(tf.constant(x))
        except Exception as exc:
            raise ContractFailure(f"fails {mode}: {_short(exc)}") from None
        if inputs:
            _moves(mode, "the input images (G learns through them)", grads[:1])
        for variable, grad in zip(model.trainable_variables, grads[1:]):
            if grad is None:
                raise ContractFailure(f"{mode}: no gradient reaches trainable variable {variable.path}: it does not affect the output")
        _moves(mode, "the trainable variables", grads[1:])
    what = "the input images and " if inputs else ""
    return f"finite gradients reach {what}all {len(model.trainable_variables)} trainable variables, eagerly and under XLA"


def _moves(where, what, grads):
    import numpy as np

    arrays = [_array(g) for g in grads if g is not None]
    if not arrays:
        raise ContractFailure(f"{where}: no gradient reaches {what}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ContractFailure(f"{where}: the gradient for {what} holds NaN or infinite values")
    if not any(np.abs(a).max() > 0 for a in arrays):
        raise ContractFailure(f"{where}: the gradient for {what} is zero everywhere")


def _logit_sets():
    """(label, real logits, fake logits) a loss must handle, as float32 (batch, 1) arrays."""
    import numpy as np

    rng = np.random.default_rng(3)
    ordinary = rng.normal(0, 3, (2, 8, 1)).astype(np.float32)
    extreme = np.array([[EXTREME_LOGIT], [-EXTREME_LOGIT], [EXTREME_LOGIT], [-EXTREME_LOGIT]], np.float32)
    return [("ordinary", ordinary[0], ordinary[1]), ("extreme", extreme, extreme[::-1].copy())]


def _scalar(where, value):
    import numpy as np

    array = _array(value)
    if array.shape != ():
        raise ContractFailure(f"{where} has shape {array.shape}, expected a scalar (the mean over the batch)")
    dtype = _dtype_name(getattr(value, "dtype", array.dtype))
    if "float" not in dtype:
        raise ContractFailure(f"{where} is {dtype}, expected floating point")
    if not np.isfinite(array):
        raise ContractFailure(f"{where} is {float(array)}")


def _tiny_players():
    """A small dense G and D, and a batch of z and of real images, for loss gradients."""
    import keras
    import numpy as np

    z = keras.Input((8,))
    g = keras.Model(z, keras.layers.Dense(16, activation="tanh")(keras.layers.Dense(16, activation="relu")(z)))
    images = keras.Input((16,))
    d = keras.Model(images, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(images)))
    rng = np.random.default_rng(4)
    return g, d, rng.standard_normal((BATCH, 8)).astype(np.float32), rng.uniform(-1, 1, (BATCH, 16)).astype(np.float32)


def _same(expected, found, when):
    import numpy as np

    expected, found = _array(expected), _array(found)
    scale = 1.0 + float(np.abs(expected).max()) if expected.size else 1.0
    difference = float(np.abs(expected - found).max()) if expected.shape == found.shape else math.inf
    if difference > TOLERANCE * scale:
        raise ContractFailure(f"outputs change {when} (largest difference {difference:.3g})")


def _array(value):
    """Any tensor (bfloat16 included) as a float32 numpy array."""
    import keras
    import numpy as np

    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(value, "float32")))


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)


def _short(exc, limit=300) -> str:
    text = one_line(exc)
    return text if len(text) <= limit else text[: limit - 1] + "…"
