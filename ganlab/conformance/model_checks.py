"""The contract checks of generators and discriminators (Keras models), in the order they run.

See :mod:`ganlab.conformance.common` for what a check is given and returns.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from ganlab.conformance.common import BATCH, TOLERANCE, ContractFailure, as_array, dtype_name, moves, same, short
from ganlab.errors import one_line

#: How a round trip through a checkpoint is named when it changes the outputs.
RESTORED = "after a rebuild with the checkpoint's variables copied in (--resume)"

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
                if "float" not in dtype_name(raw.dtype):
                    raise ContractFailure(f"{where}: images are {dtype_name(raw.dtype)}, expected floating point")
                out = as_array(raw)
                if out.shape != (BATCH, *c.image_shape):
                    raise ContractFailure(f"{where}: output shape {out.shape}, expected {(BATCH, *c.image_shape)}")
                if not np.isfinite(out).all():
                    raise ContractFailure(f"{where}: the images hold NaN or infinite pixels")
                if out.min() < low - TOLERANCE or out.max() > high + TOLERANCE:
                    raise ContractFailure(
                        f"{where}: pixels span [{out.min():.4g}, {out.max():.4g}], "
                        f"outside output_range [{low}, {high}]; "
                        "end with a bounded activation (tanh, sigmoid) or set model.output_range"
                    )
    conditional = _label_matters(c, zs["z ~ N(0, 1)"].astype(np.float32), "images")
    return (
        f"{(BATCH, *c.image_shape)} {dtype_name(raw.dtype)} within output_range, "
        f"for {len(zs)} z distributions and {len(c.built)} build(s){conditional}"
    )


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
    expected = as_array(model(c.feed(z), training=False))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generator.keras"
        model.save(path)
        try:
            loaded = keras.models.load_model(path, compile=False)
        except Exception as exc:
            raise ContractFailure(
                f"generator.keras does not load back ({one_line(exc)}); "
                "register custom layers with keras.saving.register_keras_serializable"
            ) from None
    same(expected, loaded(c.feed(z), training=False), "after saving to generator.keras and loading it (ganlab sample)")
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    same(expected, clone(c.feed(z), training=False), "for keras.models.clone_model with copied weights (training.ema)")
    same(expected, c.rebuilt(model)(c.feed(z), training=False), RESTORED)
    return "generator.keras, clone_model (EMA) and checkpoint restore give the same images"


def discriminator_output(c):
    import numpy as np

    rng = np.random.default_rng(0)
    for label, model in c.built:
        for batch in (BATCH, 1):
            images = rng.uniform(-1, 1, (batch, *c.image_shape)).astype(np.float32)
            for training in (False, True):
                out = as_array(model(c.feed(images), training=training))
                where = f"with {label}, a batch of {batch}, training={training}"
                if out.shape != (batch, 1):
                    raise ContractFailure(
                        f"{where}: output shape {out.shape}, expected one logit per image, {(batch, 1)}"
                    )
                if not np.isfinite(out).all():
                    raise ContractFailure(f"{where}: the logits hold NaN or infinite values")
        _not_probabilities(c, label, model, rng.uniform(-1, 1, (BATCH, *c.image_shape)).astype(np.float32))
    conditional = _label_matters(c, rng.uniform(-1, 1, (BATCH, *c.image_shape)).astype(np.float32), "logits")
    return (
        f"one finite logit per image, (batch, 1), for batches of {BATCH} and 1 "
        f"and {len(c.built)} build(s){conditional}"
    )


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
    same(model(c.feed(images), training=False), c.rebuilt(model)(c.feed(images), training=False), RESTORED)
    return "checkpoint restore gives the same logits"


def discriminator_frozen_in_g_step(c):
    """D's variables, trainable or not, do not change when G trains through D (the AM step).

    The engine's AM step calls D in training mode inside G's gradient tape and applies
    G's gradients only; here a variable holding the images stands in for G. A layer that
    assigns in its training-mode call breaks this: ``keras.layers.SpectralNormalization``
    rewrites its kernel and power-iteration vector on every such call (docs/plugins.md).
    Two kinds of state may move and are not failures: random-number seed states (dropout
    draws new masks) and BatchNormalization moving statistics, which D uses only in
    inference mode (``training.d_validation``); the line says when the latter move.
    """
    import numpy as np
    import tensorflow as tf

    from ganlab.training.layers import batch_norms

    model = c.built[0][1]
    images = tf.Variable(np.random.default_rng(3).uniform(-1, 1, (BATCH, *c.image_shape)).astype(np.float32))

    def g_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.cast(model(c.feed(tf.identity(images)), training=True), tf.float32))
        gradient = tape.gradient(loss, images)
        if gradient is not None:  # none reaching the images is the gradients check's failure
            images.assign_sub(0.1 * gradient)

    statistics = {id(v) for layer in batch_norms(model) for v in (layer.moving_mean, layer.moving_variance)}
    moved_statistics = False
    for compiled in (False, True):
        mode = "under XLA (training.jit_compile: true)" if compiled else "eagerly"
        before = [np.array(v.numpy()) for v in model.variables]
        try:
            (tf.function(g_step, jit_compile=True) if compiled else g_step)()
        except Exception as exc:
            raise ContractFailure(f"a G step through D fails {mode}: {short(exc)}") from None
        moved = [v for v, old in zip(model.variables, before) if not np.array_equal(old, v.numpy())]
        moved = [v for v in moved if v.name != "seed_generator_state"]
        moved_statistics |= any(id(v) in statistics for v in moved)
        changed = [v.path for v in moved if id(v) not in statistics]
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            raise ContractFailure(
                f"{mode}: a G step (D in training mode, G's gradients applied) changes D's {shown}; "
                "D must be frozen in G's step: a layer may not assign to its variables when called "
                "(keras.layers.SpectralNormalization does: use ganlab.training.spectral_norm.SpectralNorm)"
            )
    if moved_statistics:
        return (
            "D's weights stay unchanged in a G step, eagerly and under XLA; its BatchNormalization moving "
            "statistics move (D uses them in inference mode only)"
        )
    return f"D's {len(model.variables)} variables stay unchanged in a G step, eagerly and under XLA"


def _not_probabilities(c, label, model, images) -> None:
    """Fail if D's outputs stay inside [0, 1] even for images pushed far along (and against) its gradient.

    A logit D leaves [0, 1] long before that; one that never does ends in a sigmoid (or
    another squashing link), which the loss applies again: BCE on probabilities saturates
    and G stops learning.
    """
    import numpy as np
    import tensorflow as tf

    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.cast(model(c.feed(x), training=False), tf.float32))
    gradient = tape.gradient(total, x)
    direction = tf.sign(gradient) if gradient is not None else tf.zeros_like(x)
    for step in (1.0, 10.0, 100.0):
        for probe in (x + step * direction, x - step * direction, x * step, -x * step):
            out = as_array(model(c.feed(probe), training=False))
            if not np.isfinite(out).all() or out.min() < 0 or out.max() > 1:
                return
    raise ContractFailure(
        f"with {label}: D's outputs never leave [0, 1], even for images pushed far along its gradient: "
        "it looks like D ends in a sigmoid; D must output logits (no final activation), the loss owns the link"
    )


def _label_matters(c, batch, what) -> str:
    """For a conditional model: other labels with the same z or images must change its ``what``.

    Returns the words to add to the check's line ("" for an unconditional model).
    """
    import numpy as np

    if not c.component.conditional:
        return ""
    model = c.built[0][1]
    labels = np.arange(len(batch), dtype=np.int32) % c.num_classes
    first = as_array(model(c.feed(batch, labels), training=False))
    other = as_array(model(c.feed(batch, (labels + 1) % c.num_classes), training=False))
    if c.num_classes > 1 and np.allclose(first, other, rtol=TOLERANCE, atol=TOLERANCE):
        raise ContractFailure(
            f"the labels do not change the {what}: a conditional model must use its second input, the labels"
        )
    return f"; the labels change the {what} ({c.num_classes} classes)"


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
            raise ContractFailure(f"fails {mode}: {short(exc)}") from None
        if inputs:
            moves(mode, "the input images (G learns through them)", grads[:1])
        for variable, grad in zip(model.trainable_variables, grads[1:]):
            if grad is None:
                raise ContractFailure(
                    f"{mode}: no gradient reaches trainable variable {variable.path}: it does not affect the output"
                )
        moves(mode, "the trainable variables", grads[1:])
    what = "the input images and " if inputs else ""
    return (
        f"finite gradients reach {what}all {len(model.trainable_variables)} trainable variables, "
        "eagerly and under XLA"
    )
