"""The contract checks of losses, in the order they run.

See :mod:`ganlab.conformance.common` for what a check is given and returns.
"""

from __future__ import annotations

import math

from ganlab.conformance.common import BATCH, TOLERANCE, ContractFailure, as_array, dtype_name, moves, short

#: Logits a loss must turn into finite values: ordinary ones and a confident D's.
EXTREME_LOGIT = 30.0


def loss_values(c):
    import tensorflow as tf

    for label, loss in c.built:
        threshold = loss.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            raise ContractFailure(
                f"with {label}: threshold must be a finite number "
                f"(D's output above which an image counts as real), found {threshold!r}"
            )
        for logits_label, real, fake in _logit_sets():
            for dtype in ("float32", "bfloat16"):
                where = f"with {label}, {logits_label} {dtype} logits"
                real_t, fake_t = tf.cast(real, dtype), tf.cast(fake, dtype)
                _scalar(f"{where}: d_loss", loss.d_loss(real_t, fake_t))
                _scalar(f"{where}: g_loss", _g_loss(loss, fake_t, real_t))
    return (
        f"finite scalars for ordinary, ±{EXTREME_LOGIT:g} and bfloat16 logits, for {len(c.built)} build(s); "
        f"threshold {c.built[0][1].threshold!r}"
    )


def loss_gradients(c):
    import keras
    import tensorflow as tf

    for compiled in (False, True):
        loss = c.built[0][1]
        g, d, z, real = _tiny_players(c)
        seed = keras.random.SeedGenerator(0)  # a variable: made outside the compiled step

        def step(z, real):
            with tf.GradientTape(persistent=True) as tape:
                fake = g(z)
                fake_logits, real_logits = d(fake), d(real)
                d_loss = loss.d_loss(real_logits, fake_logits)
                penalty = loss.penalty(d, real, fake, seed)
                g_loss = _g_loss(loss, fake_logits, real_logits)
            gradients = [tape.gradient(d_loss, d.trainable_variables), tape.gradient(g_loss, g.trainable_variables)]
            if penalty is not None:
                gradients += [penalty, tape.gradient(penalty, d.trainable_variables)]
            return gradients

        mode = "under XLA (training.jit_compile: true)" if compiled else "eagerly"
        shapes = f"real and fake images {(BATCH, *c.image_shape)}"
        try:
            d_grads, g_grads, *penalty = (tf.function(step, jit_compile=True) if compiled else step)(z, real)
        except Exception as exc:
            raise ContractFailure(f"fails {mode} on {shapes}: {short(exc)}") from None
        if penalty:
            where = f"{mode}: penalty(discriminator, real, fake, seed) on {shapes}"
            _scalar(where, penalty[0])
            _finite(f"{where}: its gradient for D", penalty[1])
        moves(f"{mode}: d_loss", "D", d_grads)
        moves(f"{mode}: g_loss", "G (through D)", g_grads)
    d_part = f"d_loss and penalty (on images {(BATCH, *c.image_shape)}) move D" if penalty else "d_loss moves D"
    return f"{d_part} and g_loss moves G through D, eagerly and under XLA"


def _finite(where, grads):
    import numpy as np

    if not all(np.isfinite(as_array(g)).all() for g in grads if g is not None):
        raise ContractFailure(f"{where} holds NaN or infinite values")


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
            if not np.allclose(as_array(a), as_array(b), rtol=TOLERANCE, atol=TOLERANCE):
                raise ContractFailure(
                    f"rebuilt from recipe.yaml, {which} of {label} logits is {float(as_array(b)):.6g}, "
                    f"was {float(as_array(a)):.6g}"
                )
    return "a rebuild from recipe.yaml gives the same values"


def _logit_sets():
    """(label, real logits, fake logits) a loss must handle, as float32 (batch, 1) arrays."""
    import numpy as np

    rng = np.random.default_rng(3)
    ordinary = rng.normal(0, 3, (2, 8, 1)).astype(np.float32)
    extreme = np.array([[EXTREME_LOGIT], [-EXTREME_LOGIT], [EXTREME_LOGIT], [-EXTREME_LOGIT]], np.float32)
    return [("ordinary", ordinary[0], ordinary[1]), ("extreme", extreme, extreme[::-1].copy())]


def _scalar(where, value):
    import numpy as np

    array = as_array(value)
    if array.shape != ():
        raise ContractFailure(f"{where} has shape {array.shape}, expected a scalar (the mean over the batch)")
    dtype = dtype_name(getattr(value, "dtype", array.dtype))
    if "float" not in dtype:
        raise ContractFailure(f"{where} is {dtype}, expected floating point")
    if not np.isfinite(array):
        raise ContractFailure(f"{where} is {float(array)}")


def _tiny_players(c):
    """A small G and a D with one output, a batch of z and one of real images: the shapes of a run.

    G maps z ``(batch, latent_dim)`` to images ``(batch, *image_shape)`` in [-1, 1]; D maps
    images to one logit per image ``(batch, 1)``; the real images are ``(batch, *image_shape)``.
    So a ``penalty`` sees what ``ganlab run`` gives it: 4-D images, not flat vectors.
    """
    import keras
    import numpy as np

    z = keras.Input((c.latent_dim,))
    hidden = keras.layers.Dense(16, activation="relu")(z)
    pixels = keras.layers.Dense(math.prod(c.image_shape), activation="tanh")(hidden)
    g = keras.Model(z, keras.layers.Reshape(c.image_shape)(pixels))
    images = keras.Input(c.image_shape)
    features = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(images)
    d = keras.Model(images, keras.layers.Dense(1)(keras.layers.Flatten()(features)))
    rng = np.random.default_rng(4)
    z_batch = rng.standard_normal((BATCH, c.latent_dim)).astype(np.float32)
    return g, d, z_batch, rng.uniform(-1, 1, (BATCH, *c.image_shape)).astype(np.float32)
