"""What the checks of every kind share: the failure they raise, the batch size, and comparisons.

A check is a function of the :class:`ganlab.conformance.runner.ComponentCheck` ``c``: its
builds in ``c.built`` (the parameters as given first, then the variants), ``c.image_shape``,
``c.latent_dim``, and ``c.rebuilt`` and ``c.rebuild_from_recipe`` for the round trips. It
returns a short line saying what it verified, or raises :class:`ContractFailure` saying what
is broken. Each kind's checks, in the order they run, are its row's ``checks`` in
:data:`ganlab.components.kinds.KINDS`; ``check-plugin`` names a check after its function,
without the kind (``generator_round_trip`` prints as ``round trip``).

Nothing here imports TensorFlow or NumPy at import time: ``ganlab list`` imports the checks
through the kind table.
"""

from __future__ import annotations

import math

from ganlab.errors import one_line

BATCH = 4
#: Relative difference allowed between outputs that should be the same.
TOLERANCE = 1e-5


class ContractFailure(Exception):
    """One check found the component in breach of its contract."""


def moves(where, what, grads):
    """Fail unless ``grads`` reach ``what``, are finite, and are not zero everywhere."""
    import numpy as np

    arrays = [as_array(g) for g in grads if g is not None]
    if not arrays:
        raise ContractFailure(f"{where}: no gradient reaches {what}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ContractFailure(f"{where}: the gradient for {what} holds NaN or infinite values")
    if not any(np.abs(a).max() > 0 for a in arrays):
        raise ContractFailure(f"{where}: the gradient for {what} is zero everywhere")


def same(expected, found, when):
    """Fail unless ``found`` equals ``expected`` within :data:`TOLERANCE`."""
    import numpy as np

    expected, found = as_array(expected), as_array(found)
    scale = 1.0 + float(np.abs(expected).max()) if expected.size else 1.0
    difference = float(np.abs(expected - found).max()) if expected.shape == found.shape else math.inf
    if difference > TOLERANCE * scale:
        raise ContractFailure(f"outputs change {when} (largest difference {difference:.3g})")


def as_array(value):
    """Any tensor (bfloat16 included) as a float32 numpy array."""
    import keras
    import numpy as np

    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(value, "float32")))


def dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)


def short(exc, limit=300) -> str:
    """``exc`` in one line of at most ``limit`` characters."""
    text = one_line(exc)
    return text if len(text) <= limit else text[: limit - 1] + "…"
