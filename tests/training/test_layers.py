"""ganlab.training.layers: HashDropout (Keras' Dropout with cheaper masks) and LatentModes."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from ganlab.training.layers import HashDropout, LatentModes, hash_bits  # noqa: E402


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_keeps_one_minus_rate_and_preserves_the_mean(jit, rate):
    layer = HashDropout(rate, seed=1)
    call = tf.function(lambda x: layer(x, training=True), jit_compile=jit)
    out = call(tf.ones((256, 512))).numpy()
    kept = out > 0
    # 131,072 Bernoulli draws: the standard error of the kept share is below 0.0014
    assert abs(kept.mean() - (1 - rate)) < 0.006
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / (1 - rate)], rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.015


def test_identity_without_training():
    x = tf.random.normal((8, 16))
    np.testing.assert_array_equal(HashDropout(0.5, seed=0)(x, training=False), x)


def test_every_call_draws_a_new_independent_mask():
    layer = HashDropout(0.3, seed=7)
    first = layer(tf.ones((128, 256)), training=True).numpy() > 0
    second = layer(tf.ones((128, 256)), training=True).numpy() > 0
    agree = (first == second).mean()
    assert abs(agree - (0.7**2 + 0.3**2)) < 0.01  # what two independent masks agree on


def test_the_seed_fixes_the_masks():
    masks = [HashDropout(0.3, seed=3)(tf.ones((64, 64)), training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(*masks)
    other = HashDropout(0.3, seed=4)(tf.ones((64, 64)), training=True).numpy()
    assert (other != masks[0]).any()


def test_hash_bits_look_uniform_and_uncorrelated():
    u = hash_bits(tf.constant([200_000]), tf.constant([3, 4])).numpy() / 2.0**32
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.002
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01  # neighbouring elements
    v = hash_bits(tf.constant([200_000]), tf.constant([3, 5])).numpy() / 2.0**32
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01  # consecutive seeds
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() > 0.97 * 20_000 and counts.max() < 1.03 * 20_000


def test_saves_and_loads_with_the_model(tmp_path):
    model = keras.Sequential([keras.Input((8,)), HashDropout(0.25, seed=2)])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0], HashDropout) and loaded.layers[0].rate == 0.25


def test_gradient_flows_through_kept_units_only():
    layer = HashDropout(0.5, seed=0)
    x = tf.ones((32, 32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
    grad = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(grad, y.numpy())  # d(y)/d(x) is the mask times 1/(1 - rate)


def test_latent_modes_one_hot_the_argmax_of_the_first_entries():
    z = np.array([[0.1, 2.0, -1.0, 0.5, -0.5], [3.0, 0.0, 1.0, 0.25, 7.0]], "float32")
    np.testing.assert_array_equal(LatentModes(3)(z).numpy(), [[0, 1, 0, 0.5, -0.5], [1, 0, 0, 0.25, 7.0]])
    # for z ~ N(0, I) every mode is equally likely
    picked = LatentModes(4)(np.random.default_rng(0).normal(size=(40_000, 6)).astype("float32")).numpy()[:, :4]
    np.testing.assert_allclose(picked.mean(axis=0), 0.25, atol=0.01)
    model = keras.Sequential([keras.Input((5,)), LatentModes(3)])
    assert model.output_shape == (None, 5) and LatentModes.from_config(model.layers[0].get_config()).modes == 3
