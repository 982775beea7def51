"""``SpectralConv2D``: a Conv2D whose kernel is divided by its largest singular value.

Imported by the ``sn_conv`` builder, never by the plugin module: it needs Keras.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ganlab_extras")
class SpectralConv2D(keras.layers.Conv2D):
    """Conv2D with a spectrally normalised kernel, W / sigma(W) (Miyato et al. 2018).

    sigma(W), the largest singular value of the kernel reshaped to (-1, filters), is
    estimated by power iteration from a vector ``u`` kept as a non-trainable variable, so
    checkpoints hold it and a resumed run continues the estimate. ``u`` is updated in
    training mode only, so inference is deterministic. As in the paper, gradients flow
    through W / sigma(W) with the power-iteration vectors held constant. (Keras's own
    ``SpectralNormalization`` wrapper instead overwrites the kernel with W / sigma in
    every training call, which would also change D's weights in G's step.)
    """

    def __init__(self, *args, power_iterations: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        self.u = self.add_weight(name="sn_u", shape=(1, self.filters), initializer="random_normal", trainable=False)

    def sigma(self, training=False):
        """The estimate of the kernel's largest singular value (float32)."""
        w = ops.reshape(ops.cast(self.kernel, "float32"), (-1, self.filters))
        u = ops.cast(self.u, "float32")
        for _ in range(self.power_iterations):
            v = _unit(ops.matmul(u, ops.transpose(w)))
            u = _unit(ops.matmul(v, w))
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        if training:
            self.u.assign(ops.cast(u, self.u.dtype))
        return ops.sum(ops.matmul(v, w) * u)

    def call(self, inputs, training=False):
        kernel = ops.cast(ops.cast(self.kernel, "float32") / self.sigma(training), inputs.dtype)
        outputs = ops.conv(
            inputs,
            kernel,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
        )
        if self.use_bias:
            shape = (-1, 1, 1) if self.data_format == "channels_first" else (-1,)
            bias = ops.reshape(ops.cast(self.bias, outputs.dtype), shape)
            outputs = outputs + bias
        return self.activation(outputs) if self.activation is not None else outputs

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


def _unit(x, epsilon=1e-12):
    return x / (ops.sqrt(ops.sum(ops.square(x))) + epsilon)
