"""The first-party losses (plugins/losses.py): bce and lsgan against numpy references and in a train
step; hinge, wgan_gp and ragan formulas; the gradient penalty on critics of known gradient norm; R1; and
the engine's use of penalties and relativistic G losses."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError, Loss
from ganlab.training.assemble import build_model
from ganlab.training.run import train
from ganlab_plugins import losses
from ganlab_plugins.losses import BCELoss
from ganlab_plugins.mlp import mlp_discriminator, mlp_generator
from tests.helpers import final_state, tiny

REAL = np.array([[3.0], [0.5], [-1.0], [6.0]], dtype=np.float32)
FAKE = np.array([[-2.0], [0.0], [1.5], [-7.0]], dtype=np.float32)
# Three logits each, for the hinge, Wasserstein and relativistic formulas.
REAL3 = np.array([[2.0], [-1.0], [0.5]], np.float32)
FAKE3 = np.array([[-3.0], [0.0], [1.5]], np.float32)


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
    assert registered == {
        "bce": losses.bce,
        "lsgan": losses.lsgan,
        "hinge": losses.hinge,
        "wgan_gp": losses.wgan_gp,
        "ragan": losses.ragan,
    }
    assert all(isinstance(builder(), Loss) for builder in registered.values())


def test_reprs_show_the_parameters():
    assert repr(losses.bce()) == (
        "BCELoss(generator_loss='non_saturating', label_smoothing=0.0, r1_gamma=0.0, r1_images=0, r1_every=1)"
    )
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
    code = (
        "import sys, ganlab_plugins.losses; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def softplus(x):
    return np.log1p(np.exp(x))


def test_hinge_values():
    loss = losses.hinge()
    expected_d = np.mean(np.maximum(0, 1 - REAL3)) + np.mean(np.maximum(0, 1 + FAKE3))
    assert float(loss.d_loss(REAL3, FAKE3)) == pytest.approx(expected_d)
    assert float(loss.g_loss(FAKE3)) == pytest.approx(-FAKE3.mean())


def test_wasserstein_values():
    loss = losses.wgan_gp()
    assert float(loss.d_loss(REAL3, FAKE3)) == pytest.approx(FAKE3.mean() - REAL3.mean())
    assert float(loss.g_loss(FAKE3)) == pytest.approx(-FAKE3.mean())
    with pytest.raises(GanlabError, match="gp_weight"):
        losses.wgan_gp(gp_weight=-1)


def test_relativistic_average_values():
    loss = losses.ragan()
    assert loss.g_needs_real
    d = 0.5 * (np.mean(softplus(-(REAL3 - FAKE3.mean()))) + np.mean(softplus(FAKE3 - REAL3.mean())))
    g = 0.5 * (np.mean(softplus(-(FAKE3 - REAL3.mean()))) + np.mean(softplus(REAL3 - FAKE3.mean())))
    assert float(loss.d_loss(REAL3, FAKE3)) == pytest.approx(d, rel=1e-6)
    assert float(loss.g_loss(FAKE3, REAL3)) == pytest.approx(g, rel=1e-6)


def critic(function, shape=(4, 4, 1)):
    images = keras.Input(shape)
    return keras.Model(images, keras.layers.Lambda(function)(images))


@pytest.mark.parametrize(
    "function, norm",
    [
        # a linear critic 3 * sum(x): gradient 3 at every pixel, norm 3 * sqrt(16) = 12
        (lambda x: 3.0 * keras.ops.sum(x, axis=(1, 2, 3))[:, None], 12.0),
        # the image's L2 norm: gradient x / ||x||, norm 1 everywhere but at 0
        (lambda x: keras.ops.sqrt(keras.ops.sum(x * x, axis=(1, 2, 3)))[:, None], 1.0),
    ],
)
def test_gradient_penalty_on_critics_of_known_gradient_norm(function, norm):
    rng = np.random.default_rng(0)
    real = rng.uniform(0.5, 1.0, (8, 4, 4, 1)).astype(np.float32)
    fake = rng.uniform(-1.0, -0.5, (8, 4, 4, 1)).astype(np.float32)  # interpolates never pass 0
    penalty = losses.gradient_penalty(critic(function), real, fake, keras.random.SeedGenerator(0))
    assert float(penalty) == pytest.approx((norm - 1.0) ** 2, rel=1e-5, abs=1e-6)
    weighted = losses.wgan_gp(gp_weight=2.0).penalty(critic(function), real, fake, keras.random.SeedGenerator(0))
    assert float(weighted) == pytest.approx(2.0 * (norm - 1.0) ** 2, rel=1e-5, abs=1e-6)


def test_r1_penalty_is_half_gamma_times_the_mean_squared_gradient_norm_at_real_images():
    """Critic sum(x^2): gradient 2x, so ||grad||^2 = 4 * sum(x^2) per real image; fakes play no part."""
    square = critic(lambda x: keras.ops.sum(x * x, axis=(1, 2, 3))[:, None])
    rng = np.random.default_rng(0)
    real = rng.normal(size=(8, 4, 4, 1)).astype(np.float32)
    expected = 0.5 * 3.0 * np.mean(4.0 * np.sum(real.astype(np.float64) ** 2, axis=(1, 2, 3)))
    for fake in (np.zeros_like(real), 100.0 * np.ones_like(real)):
        penalty = losses.bce(r1_gamma=3.0).penalty(square, real, fake, keras.random.SeedGenerator(0))
        assert float(penalty) == pytest.approx(expected, rel=1e-5)
    assert losses.bce().penalty(square, real, real, keras.random.SeedGenerator(0)) is None
    with pytest.raises(GanlabError, match="loss bce: r1_gamma must be >= 0, found -1"):
        losses.bce(r1_gamma=-1)


def test_r1_images_takes_the_penalty_over_the_first_images_of_the_batch():
    square = critic(lambda x: keras.ops.sum(x * x, axis=(1, 2, 3))[:, None])
    real = np.random.default_rng(1).normal(size=(8, 4, 4, 1)).astype(np.float32)
    per_image = 4.0 * np.sum(real.astype(np.float64) ** 2, axis=(1, 2, 3))
    for n, expected in ((3, np.mean(per_image[:3])), (8, np.mean(per_image)), (50, np.mean(per_image))):
        penalty = losses.bce(r1_gamma=2.0, r1_images=n).penalty(square, real, real, keras.random.SeedGenerator(0))
        assert float(penalty) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(GanlabError, match=r"loss bce: r1_images must be >= 0 \(0: all of D's real batch\), found -4"):
        losses.bce(r1_gamma=1.0, r1_images=-4)


def linear_critic(weights):
    """D(x) = w . x: ||grad_x D|| = ||w|| for every image, so R1 = gamma / 2 * ||w||^2, and dR1/dw = gamma * w."""
    d = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    d.layers[-1].kernel.assign(weights.reshape(16, 1))
    return d


def test_lazy_r1_is_k_times_r1_every_kth_d_step_and_zero_between_also_under_xla():
    w = np.random.default_rng(2).normal(size=16).astype(np.float32)
    d, seed = linear_critic(w), keras.random.SeedGenerator(0)
    real = np.random.default_rng(3).normal(size=(8, 4, 4, 1)).astype(np.float32)
    r1 = 0.5 * 2.0 * float(np.sum(w.astype(np.float64) ** 2))
    every_step = losses.bce(r1_gamma=2.0, r1_every=1)
    assert not every_step.penalty_needs_step and float(every_step.penalty(d, real, real, seed)) == pytest.approx(r1)
    lazy = losses.bce(r1_gamma=2.0, r1_every=4)
    step = tf.Variable(0, dtype=tf.int64)

    def penalty_and_gradient():
        with tf.GradientTape() as tape:
            penalty = lazy.penalty(d, real, real, seed, step=step)
        return penalty, tape.gradient(penalty, d.trainable_variables[0])

    compiled = tf.function(penalty_and_gradient, jit_compile=True)
    assert lazy.penalty_needs_step
    for k in range(9):
        step.assign(k)
        due = k % 4 == 0
        for penalty, gradient in (penalty_and_gradient(), compiled()):
            assert float(penalty) == pytest.approx(4 * r1 if due else 0.0, rel=1e-5), k
            gradient = np.zeros(16) if gradient is None else np.ravel(gradient)  # eager skips the branch: None
            np.testing.assert_allclose(gradient, 4 * 2.0 * w if due else 0.0, rtol=1e-5)
    assert float(lazy.penalty(d, real, real, seed)) == pytest.approx(r1)  # no step given: every time
    with pytest.raises(GanlabError, match=r"loss bce: r1_every must be >= 1 \(1: R1 on every D step\), found 0"):
        losses.bce(r1_gamma=1.0, r1_every=0)


def test_the_engine_hands_a_lazy_penalty_ds_update_count(reg):
    steps = []

    class Recording(BCELoss):
        def penalty(self, discriminator, real, fake, seed, step=None):
            steps.append(int(step))
            return super().penalty(discriminator, real, fake, seed, step)

    model = build_model(tiny(reg, loss={"name": "bce", "r1_gamma": 1.0, "r1_every": 2}), (8, 8, 1))
    model.adversarial_loss = Recording("non_saturating", 0.0, r1_gamma=1.0, r1_every=2)
    for _ in range(3):
        model._d_step(np.zeros((8, 8, 8, 1), np.float32))
    assert steps == [0, 1, 2]


def test_gradient_penalty_interpolates_per_image():
    """A critic whose gradient norm is the pixel value |x|*2*4: the penalty depends on where each image's mix lands."""
    real = np.ones((64, 2, 2, 1), np.float32)
    fake = np.zeros((64, 2, 2, 1), np.float32)
    square = critic(lambda x: keras.ops.sum(x * x, axis=(1, 2, 3))[:, None], (2, 2, 1))
    # x = e at every pixel: gradient 2e per pixel, norm 4e; E[(4e - 1)^2] over e ~ U(0, 1) is 16/3 - 4 + 1 = 7/3
    penalty = float(losses.gradient_penalty(square, real, fake, keras.random.SeedGenerator(1)))
    assert penalty == pytest.approx(7 / 3, rel=0.25)
    one_e_for_all = [(4 * e - 1) ** 2 for e in (0.0, 1.0)]
    assert min(one_e_for_all) < penalty < max(one_e_for_all)


@pytest.mark.parametrize(
    "loss", ["hinge", {"name": "wgan_gp", "gp_weight": 10.0}, "ragan", {"name": "bce", "r1_gamma": 1.0}]
)
def test_new_losses_train_in_the_engine(reg, tmp_path, loss):
    recipe = tiny(reg, epochs=1, loss=loss)
    meta, state = final_state(train(recipe, out=tmp_path / "run"))
    assert meta["step"] == 4 and all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


def test_the_engine_adds_the_penalty_to_ds_loss(reg):
    class Penalised(BCELoss):
        def penalty(self, discriminator, real, fake, seed):
            return 5.0 + 0.0 * discriminator(real)[0, 0]

    real = np.zeros((64, 8, 8, 1), np.float32)
    logs = []
    for penalised in (False, True):
        keras.utils.set_random_seed(0)  # the same weights and noise: only the penalty differs
        model = build_model(tiny(reg, epochs=1, jit_compile=False), (8, 8, 1))
        if penalised:
            model.adversarial_loss = Penalised("non_saturating", 0.0)
        logs.append(model.train_on_batch(real, return_dict=True))
    assert logs[1]["d_loss"] == pytest.approx(logs[0]["d_loss"] + 5.0, rel=1e-4)
