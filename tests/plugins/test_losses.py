"""The bce and lsgan losses against numpy references, and their behaviour in a train step."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError, Loss
from ganlab_plugins import losses
from ganlab_plugins.mlp import mlp_discriminator, mlp_generator

REAL = np.array([[3.0], [0.5], [-1.0], [6.0]], dtype=np.float32)
FAKE = np.array([[-2.0], [0.0], [1.5], [-7.0]], dtype=np.float32)


def np_bce(logits, target):
    """Textbook BCE through probabilities, in float64: -t log p - (1 - t) log(1 - p)."""
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return np.mean(-target * np.log(p) - (1.0 - target) * np.log(1.0 - p))


def value(tensor):
    assert tensor.shape == () and tensor.dtype == tf.float32
    return float(tensor)


def logit_gradient(fn, logits):
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = fn(x)
    return tape.gradient(loss, x).numpy()


def test_hook_registers_every_first_party_loss():
    registered = {}
    losses.register_losses(lambda name, builder: registered.update({name: builder}))
    assert registered == {"bce": losses.bce, "lsgan": losses.lsgan, "hinge": losses.hinge, "wgan_gp": losses.wgan_gp, "ragan": losses.ragan}
    assert all(isinstance(builder(), Loss) for builder in registered.values())


def test_reprs_show_the_parameters():
    assert repr(losses.bce()) == "BCELoss(generator_loss='non_saturating', label_smoothing=0.0, r1_gamma=0.0, r1_images=0)"
    assert repr(losses.lsgan(a=-1.0, b=1.0, c=0.0)) == "LSGANLoss(a=-1.0, b=1.0, c=0.0)"


def test_bce_d_loss_is_the_average_of_the_real_and_fake_terms():
    loss = losses.bce()
    expected = 0.5 * (np_bce(REAL, 1.0) + np_bce(FAKE, 0.0))
    assert value(loss.d_loss(REAL, FAKE)) == pytest.approx(expected, rel=1e-6)
    # ... which is the mean BCE of one concatenated real+fake batch (classic Keras GAN).
    targets = np.concatenate([np.ones_like(REAL), np.zeros_like(FAKE)])
    assert value(loss.d_loss(REAL, FAKE)) == pytest.approx(np_bce(np.concatenate([REAL, FAKE]), targets), rel=1e-6)
    assert value(loss.d_loss(np.zeros((3, 1)), np.zeros((3, 1)))) == pytest.approx(np.log(2.0), rel=1e-6)


def test_label_smoothing_is_one_sided():
    smooth, plain = losses.bce(label_smoothing=0.1), losses.bce()
    expected = 0.5 * (np_bce(REAL, 0.9) + np_bce(FAKE, 0.0))
    assert value(smooth.d_loss(REAL, FAKE)) == pytest.approx(expected, rel=1e-6)
    # Fake targets stay 0: smoothing changes nothing about D's gradient on fakes.
    np.testing.assert_allclose(
        logit_gradient(lambda f: smooth.d_loss(REAL, f), FAKE), logit_gradient(lambda f: plain.d_loss(REAL, f), FAKE)
    )
    # Real targets become 0.9: D is no longer pushed past logit log(0.9 / 0.1).
    best = np.full((2, 1), np.log(9.0), dtype=np.float32)
    np.testing.assert_allclose(logit_gradient(lambda r: smooth.d_loss(r, FAKE), best), 0.0, atol=1e-7)
    assert (logit_gradient(lambda r: plain.d_loss(r, FAKE), best) < 0).all()
    # G's target is unsmoothed.
    assert value(smooth.g_loss(FAKE)) == value(plain.g_loss(FAKE))


def test_bce_generator_losses_match_numpy_and_both_push_fake_logits_up():
    non_saturating, minimax = losses.bce(), losses.bce(generator_loss="minimax")
    assert value(non_saturating.g_loss(FAKE)) == pytest.approx(np_bce(FAKE, 1.0), rel=1e-6)
    assert value(minimax.g_loss(FAKE)) == pytest.approx(-np_bce(FAKE, 0.0), rel=1e-6)
    for loss in (non_saturating, minimax):
        assert (logit_gradient(loss.g_loss, FAKE) < 0).all()  # descent raises D's score of fakes
    # Where D confidently rejects fakes, the non-saturating loss still gives G a strong gradient.
    rejected = np.array([[-8.0]], dtype=np.float32)
    assert abs(logit_gradient(non_saturating.g_loss, rejected)) > 100 * abs(logit_gradient(minimax.g_loss, rejected))


def test_bce_is_stable_for_extreme_logits():
    extreme = np.array([[-1e4], [1e4]], dtype=np.float32)
    for loss in (losses.bce(label_smoothing=0.2), losses.bce(generator_loss="minimax")):
        assert np.isfinite(value(loss.d_loss(extreme, extreme))) and np.isfinite(value(loss.g_loss(extreme)))
        assert np.isfinite(logit_gradient(lambda x: loss.d_loss(x, x) + loss.g_loss(x), extreme)).all()
    assert value(losses.bce().g_loss(extreme)) == pytest.approx(0.5e4)


def test_lsgan_matches_numpy_with_custom_targets():
    loss = losses.lsgan(a=-1.0, b=1.0, c=0.0)
    expected_d = 0.5 * np.mean((REAL - 1.0) ** 2) + 0.5 * np.mean((FAKE + 1.0) ** 2)
    assert value(loss.d_loss(REAL, FAKE)) == pytest.approx(expected_d, rel=1e-6)
    assert value(loss.g_loss(FAKE)) == pytest.approx(0.5 * np.mean(FAKE**2), rel=1e-6)
    assert value(losses.lsgan().g_loss(np.ones((2, 1)))) == 0.0


def test_thresholds_separate_real_from_fake_targets():
    assert losses.bce().threshold == 0.0
    assert losses.lsgan().threshold == 0.5
    assert losses.lsgan(a=-1.0, b=1.0).threshold == 0.0


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: losses.bce(label_smoothing=0.5), "loss bce: label_smoothing must be in [0, 0.5), found 0.5"),
        (lambda: losses.bce(label_smoothing=-0.1), "loss bce: label_smoothing must be in [0, 0.5), found -0.1"),
        (
            lambda: losses.bce(generator_loss="wasserstein"),
            "loss bce: generator_loss must be 'non_saturating' or 'minimax', found 'wasserstein'",
        ),
        (lambda: losses.lsgan(a=1.0, b=1.0), "loss lsgan: b must be greater than a, found a=1.0, b=1.0"),
        (lambda: losses.lsgan(a=1.0, b=0.0), "loss lsgan: b must be greater than a, found a=1.0, b=0.0"),
    ],
)
def test_invalid_parameters_raise_one_line(build, message):
    with pytest.raises(GanlabError) as info:
        build()
    assert str(info.value) == message


@pytest.mark.parametrize(
    "loss", [losses.bce(label_smoothing=0.1), losses.bce(generator_loss="minimax"), losses.lsgan()], ids=repr
)
def test_compiled_with_xla_and_bfloat16_logits_give_float32_scalars(loss):
    step = tf.function(lambda r, f: (loss.d_loss(r, f), loss.g_loss(f)), jit_compile=True)
    d_loss, g_loss = step(tf.constant(REAL, tf.bfloat16), tf.constant(FAKE, tf.bfloat16))
    # Every REAL/FAKE value is exact in bfloat16, so only float32 rounding remains.
    assert value(d_loss) == pytest.approx(value(loss.d_loss(REAL, FAKE)), rel=1e-5)
    assert value(g_loss) == pytest.approx(value(loss.g_loss(FAKE)), rel=1e-5)


@pytest.mark.parametrize(
    "loss", [losses.bce(), losses.bce(generator_loss="minimax"), losses.lsgan(a=-1.0, b=1.0, c=0.0)], ids=repr
)
def test_gradients_are_finite_for_both_players(loss):
    g = mlp_generator(8, (4, 4, 1), hidden=(16,))
    d = mlp_discriminator((4, 4, 1), hidden=(16,), dropout=0.2)
    z = tf.random.stateless_normal((6, 8), seed=(1, 2))
    real = tf.random.stateless_uniform((6, 4, 4, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    with tf.GradientTape(persistent=True) as tape:
        fake_logits = d(g(z, training=True), training=True)
        d_loss = loss.d_loss(d(real, training=True), fake_logits)
        g_loss = loss.g_loss(fake_logits)
    for target, variables in ((d_loss, d.trainable_variables), (g_loss, g.trainable_variables)):
        grads = tape.gradient(target, variables)
        assert all(grad is not None and np.isfinite(grad.numpy()).all() for grad in grads)
        assert any(np.abs(grad.numpy()).max() > 0 for grad in grads)


def test_importing_the_plugin_does_not_import_tensorflow_or_keras():
    code = "import sys, ganlab_plugins.losses; print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
