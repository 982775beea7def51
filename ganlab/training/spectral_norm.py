"""Spectral normalisation (Miyato et al. 2018) whose state changes only in D's step.

``SpectralNorm(layer)`` wraps a Dense, Conv1D/2D/3D or Embedding layer and computes it with
``W / sigma(W)`` in place of its kernel, where ``sigma(W)``, W's largest singular value, is
estimated as ``||W u||`` from a unit vector ``u`` kept in a non-trainable variable (W
reshaped to a matrix of shape (-1, units)). That estimate is the paper's ``v^T W u`` with
``v = W u / ||W u||``, with the same gradient ``v u^T``: gradients flow through sigma
into W, u is held constant.

Two things differ from ``keras.layers.SpectralNormalization`` (docs/plugins.md has the
experiment):

- ``call`` never assigns. Keras' wrapper runs a power iteration and overwrites both u and
  the kernel itself with the normalised kernel on every training-mode call, so D's
  variables change in G's step, where D is meant to be frozen, and no gradient flows
  through sigma (the optimizer steps the normalised kernel as if it were free). Here the
  kernel is only ever changed by D's optimizer.
- u advances by :func:`advance`, one power iteration ``u <- normalise(W^T normalise(W u))``
  on every ``SpectralNorm`` of a model, which the engine runs once at the start of each D
  step (``ganlab.training.engine``), before D's forward pass: the paper's Algorithm 1.

Mixed precision: u, the power iteration and sigma are float32 whatever the compute dtype;
only the normalised kernel is cast to it. ``tf.distribute``: u is updated identically on
every replica (same W, same u) and its aggregation is ``only_first_replica``, so replicas
cannot drift apart. u is one of the model's variables, so checkpoints carry it.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from ganlab.errors import GanlabError

#: Added to norms before dividing, as in the paper's reference code.
EPSILON = 1e-12
#: What can be wrapped: each has a ``kernel`` (``embeddings`` for Embedding) that is a matrix
#: once reshaped to (-1, units).
WRAPPABLE = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.Embedding)


def _normalise(x):
    return x / (tf.norm(x) + EPSILON)


@keras.saving.register_keras_serializable(package="ganlab")
class SpectralNorm(keras.layers.Wrapper):
    """``layer`` computed with its kernel divided by the kernel's spectral norm (see the module docstring)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, WRAPPABLE):
            names = ", ".join(c.__name__ for c in WRAPPABLE)
            raise GanlabError(f"SpectralNorm wraps {names}; found {type(layer).__name__}")
        kwargs.pop("autocast", None)
        # Variables are read as stored (float32): the kernel is cast only after normalising.
        super().__init__(layer, autocast=False, **kwargs)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        units = int(self._weight().shape[-1])
        self.u = self.add_weight(
            shape=(units, 1),
            initializer=keras.initializers.RandomNormal(),
            trainable=False,
            dtype="float32",
            aggregation="only_first_replica",
            name="u",
        )
        self.built = True

    def _weight(self):
        return self.layer.embeddings if isinstance(self.layer, keras.layers.Embedding) else self.layer.kernel

    def _matrix(self):
        weight = tf.cast(ops.convert_to_tensor(self._weight()), tf.float32)
        return weight, tf.reshape(weight, (-1, weight.shape[-1]))

    def _unit_u(self):
        # u is stored as it was drawn or last assigned: normalising on read keeps build free of assignments.
        return _normalise(tf.stop_gradient(ops.convert_to_tensor(self.u)))

    def sigma(self):
        """The estimate ``||W u||`` of W's largest singular value; differentiable in W, not in u."""
        return tf.norm(self._matrix()[1] @ self._unit_u()) + EPSILON

    def advance(self):
        """One power iteration: u moves towards W's first right singular vector."""
        matrix = tf.stop_gradient(self._matrix()[1])
        v = _normalise(matrix @ self._unit_u())
        self.u.assign(_normalise(tf.transpose(matrix) @ v))

    def call(self, inputs):
        layer = self.layer
        kernel = ops.cast(self._matrix()[0] / self.sigma(), self.compute_dtype)
        if isinstance(layer, keras.layers.Embedding):
            return ops.take(kernel, ops.cast(inputs, "int32"), axis=0)
        inputs = ops.cast(inputs, self.compute_dtype)
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
        else:
            outputs = layer.convolution_op(inputs, kernel)
        if layer.use_bias:
            bias = ops.cast(layer.bias, self.compute_dtype)
            if getattr(layer, "data_format", "channels_last") == "channels_first":
                bias = ops.reshape(bias, (1, -1) + (1,) * (len(outputs.shape) - 2))
            outputs = outputs + bias
        return outputs if layer.activation is None else layer.activation(outputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def spectral_norms(model) -> list:
    """Every ``SpectralNorm`` layer in ``model``, nested models and layers included."""
    return [layer for layer in model._flatten_layers() if isinstance(layer, SpectralNorm)]


def advance(model) -> None:
    """One power iteration on every ``SpectralNorm`` of ``model``: what D's step runs, and only it."""
    for layer in spectral_norms(model):
        layer.advance()
