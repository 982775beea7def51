"""ganlab.training.spectral_norm: W / sigma(W) with sigma from power iteration, u moved only by
advance (never by a call), float32 state under mixed precision, XLA, a .keras round trip, and
the same u on every replica of a MirroredStrategy."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError
from ganlab.training.spectral_norm import SpectralNorm, advance, spectral_norms
from tests.conftest import ROOT


def largest_singular_value(layer):
    weight = layer._weight().numpy()
    return np.linalg.svd(weight.reshape(-1, weight.shape[-1]), compute_uv=False)[0]


@pytest.mark.parametrize(
    "inner, inputs",
    [
        (lambda: keras.layers.Dense(5, activation="relu"), np.ones((2, 7), np.float32)),
        (lambda: keras.layers.Conv2D(4, 3, strides=2, padding="same"), np.ones((2, 6, 6, 3), np.float32)),
        (lambda: keras.layers.Embedding(10, 6), np.array([1, 3], np.int32)),
    ],
)
def test_the_layer_computes_with_its_kernel_divided_by_the_estimated_spectral_norm(inner, inputs):
    keras.utils.set_random_seed(0)
    wrapped = SpectralNorm(inner())
    first = wrapped(inputs, training=True)
    u = wrapped.u.numpy().copy()
    wrapped(inputs, training=True)
    assert np.array_equal(u, wrapped.u.numpy())  # calls never assign
    plain = inner()
    plain.build(inputs.shape)
    plain.set_weights([w / float(wrapped.sigma()) if w.ndim > 1 else w for w in wrapped.layer.get_weights()])
    np.testing.assert_allclose(first, plain(inputs), rtol=1e-5, atol=1e-6)
    for _ in range(30):
        advance(wrapped)
    assert not np.array_equal(u, wrapped.u.numpy())
    np.testing.assert_allclose(float(wrapped.sigma()), largest_singular_value(wrapped), rtol=1e-3)


def test_gradients_reach_the_kernel_through_sigma_and_advance_runs_under_xla():
    keras.utils.set_random_seed(1)
    images = keras.Input((6, 6, 2))
    x = keras.layers.Flatten()(SpectralNorm(keras.layers.Conv2D(3, 3))(images))
    model = keras.Model(images, SpectralNorm(keras.layers.Dense(1))(x))
    assert len(spectral_norms(model)) == 2
    batch = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype(np.float32)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(model(batch, training=True))
    assert all(g is not None for g in tape.gradient(total, model.trainable_variables))
    u = [layer.u.numpy().copy() for layer in spectral_norms(model)]
    advance(model)
    eager = [layer.u.numpy() for layer in spectral_norms(model)]
    for layer, start in zip(spectral_norms(model), u):
        layer.u.assign(start)
    tf.function(lambda: advance(model), jit_compile=True)()
    for layer, expected in zip(spectral_norms(model), eager):
        np.testing.assert_allclose(layer.u.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_it_reloads_from_a_keras_file_and_keeps_float32_state_under_mixed_precision(tmp_path):
    keras.utils.set_random_seed(2)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        z = keras.Input((4,))
        layer = SpectralNorm(keras.layers.Dense(3))
        model = keras.Model(z, layer(z))
    finally:
        keras.mixed_precision.set_global_policy(policy)
    batch = np.ones((2, 4), np.float32)
    assert model(batch).dtype == "bfloat16" and layer.u.dtype == "float32" and layer.layer.kernel.dtype == "float32"
    advance(model)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert np.array_equal(spectral_norms(loaded)[0].u.numpy(), layer.u.numpy())
    same = np.asarray(loaded(batch), np.float32), np.asarray(model(batch), np.float32)
    np.testing.assert_allclose(*same, rtol=1e-2)  # bfloat16: oneDNN may round the last bit differently


def test_only_layers_with_a_kernel_matrix_are_wrapped():
    with pytest.raises(GanlabError, match="SpectralNorm wraps Dense, Conv1D, Conv2D, Conv3D, Embedding; found "):
        SpectralNorm(keras.layers.Conv2DTranspose(3, 3))


# Runs in its own process: the CPU is split into two logical devices before TensorFlow starts.
MIRRORED = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from ganlab.training.spectral_norm import SpectralNorm, advance
keras.utils.set_random_seed(0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    x = keras.Input((6,))
    layer = SpectralNorm(keras.layers.Dense(3))
    model = keras.Model(x, layer(x))
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)
w, u = layer.layer.kernel.numpy(), layer.u.numpy()
v = w @ u / np.linalg.norm(w @ u)
expected = w.T @ v / np.linalg.norm(w.T @ v)

@tf.function
def d_step(batch):  # as the engine's: advance, then train
    advance(model)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(batch, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

batches = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).normal(size=(8, 6)).astype("float32")).batch(8)
for batch in strategy.experimental_distribute_dataset(batches):
    strategy.run(d_step, (batch,))
replicas = [value.numpy() for value in layer.u.value.values]
assert len(replicas) == 2 and np.array_equal(replicas[0], replicas[1]), replicas
assert np.allclose(replicas[0], expected, atol=1e-5), (replicas, expected)
print("same u")
"""


def test_every_replica_of_a_mirrored_strategy_holds_the_same_u():
    result = subprocess.run([sys.executable, "-c", MIRRORED], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "same u" in result.stdout, result.stderr[-3000:]
