"""The optimizer and EMA updates compiled with XLA on their own, for a step that is not.

Without XLA every element-wise op is its own kernel: Adam's update of one variable is a
dozen of them and the EMA of G three more, each reading and writing the whole variable.
That is the fast path for mixed bfloat16 on a CPU with AMX (oneDNN's bfloat16 matrix
products and convolutions beat XLA's, see docs/performance.md), where these
memory-bound loops, not the products, become what a small model's step waits for.
Compiling just the updates as one XLA function each fuses them into a few loops over
the variables while the products stay on oneDNN.

Only where it is safe: a step already compiled as a whole gains nothing, a
``tf.distribute`` strategy aggregates gradients inside ``apply_gradients`` (a cross-replica
call XLA cannot hold), and a ``LossScaleOptimizer`` skips steps with a condition on the
gradients' finiteness, which stays outside too.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def wanted(step_compiled, optimizer=None) -> bool:
    """Whether an update in a step should be compiled on its own."""
    if step_compiled or tf.distribute.has_strategy():
        return False
    return not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)


class FusedUpdates:
    """One XLA-compiled function per update site (D's optimizer, G's optimizer, the EMA), made once.

    Each function closes over its variables, so a call passes only the new gradients;
    the variables are read and assigned inside the compiled function.
    """

    def __init__(self):
        self._compiled = {}

    def apply_gradients(self, key, optimizer, gradients, variables):
        """``optimizer.apply_gradients`` for ``variables``, as one compiled function per ``key``."""
        update = self._compiled.get(key)
        if update is None:
            variables = list(variables)

            def apply(grads):
                optimizer.apply_gradients(zip(grads, variables))

            update = self._compiled[key] = tf.function(apply, jit_compile=True, autograph=False)
        update(list(gradients))

    def run(self, key, fn):
        """``fn()`` (no arguments, assigns variables), compiled once per ``key``."""
        update = self._compiled.get(key)
        if update is None:
            update = self._compiled[key] = tf.function(fn, jit_compile=True, autograph=False)
        update()
