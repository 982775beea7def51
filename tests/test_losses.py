"""The adversarial losses' formulas, the gradient penalty on functions of known gradient norm,
and the engine's use of penalties and relativistic G losses."""

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab_plugins import losses
from tests.helpers import final_state, tiny

REAL = np.array([[2.0], [-1.0], [0.5]], np.float32)
FAKE = np.array([[-3.0], [0.0], [1.5]], np.float32)


def softplus(x):
    return np.log1p(np.exp(x))


def test_hinge_values():
    loss = losses.hinge()
    expected_d = np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE))
    assert float(loss.d_loss(REAL, FAKE)) == pytest.approx(expected_d)
    assert float(loss.g_loss(FAKE)) == pytest.approx(-FAKE.mean())


def test_wasserstein_values():
    loss = losses.wgan_gp()
    assert float(loss.d_loss(REAL, FAKE)) == pytest.approx(FAKE.mean() - REAL.mean())
    assert float(loss.g_loss(FAKE)) == pytest.approx(-FAKE.mean())
    with pytest.raises(GanlabError, match="gp_weight"):
        losses.wgan_gp(gp_weight=-1)


def test_relativistic_average_values():
    loss = losses.ragan()
    assert loss.g_needs_real
    d = 0.5 * (np.mean(softplus(-(REAL - FAKE.mean()))) + np.mean(softplus(FAKE - REAL.mean())))
    g = 0.5 * (np.mean(softplus(-(FAKE - REAL.mean()))) + np.mean(softplus(REAL - FAKE.mean())))
    assert float(loss.d_loss(REAL, FAKE)) == pytest.approx(d, rel=1e-6)
    assert float(loss.g_loss(FAKE, REAL)) == pytest.approx(g, rel=1e-6)


def critic(function, shape=(4, 4, 1)):
    import keras

    images = keras.Input(shape)
    return keras.Model(images, keras.layers.Lambda(function)(images))


@pytest.mark.parametrize(
    "function, norm",
    [
        # a linear critic 3 * sum(x): gradient 3 at every pixel, norm 3 * sqrt(16) = 12
        (lambda x: 3.0 * __import__("keras").ops.sum(x, axis=(1, 2, 3))[:, None], 12.0),
        # the image's L2 norm: gradient x / ||x||, norm 1 everywhere but at 0
        (lambda x: __import__("keras").ops.sqrt(__import__("keras").ops.sum(x * x, axis=(1, 2, 3)))[:, None], 1.0),
    ],
)
def test_gradient_penalty_on_critics_of_known_gradient_norm(function, norm):
    import keras

    rng = np.random.default_rng(0)
    real = rng.uniform(0.5, 1.0, (8, 4, 4, 1)).astype(np.float32)
    fake = rng.uniform(-1.0, -0.5, (8, 4, 4, 1)).astype(np.float32)  # interpolates never pass 0
    penalty = losses.gradient_penalty(critic(function), real, fake, keras.random.SeedGenerator(0))
    assert float(penalty) == pytest.approx((norm - 1.0) ** 2, rel=1e-5, abs=1e-6)
    assert float(losses.wgan_gp(gp_weight=2.0).penalty(critic(function), real, fake, keras.random.SeedGenerator(0))) == pytest.approx(
        2.0 * (norm - 1.0) ** 2, rel=1e-5, abs=1e-6
    )


def test_r1_penalty_is_half_gamma_times_the_mean_squared_gradient_norm_at_real_images():
    """Critic sum(x^2): gradient 2x, so ||grad||^2 = 4 * sum(x^2) per real image; fakes play no part."""
    import keras

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
    import keras

    square = critic(lambda x: keras.ops.sum(x * x, axis=(1, 2, 3))[:, None])
    real = np.random.default_rng(1).normal(size=(8, 4, 4, 1)).astype(np.float32)
    per_image = 4.0 * np.sum(real.astype(np.float64) ** 2, axis=(1, 2, 3))
    for n, expected in ((3, np.mean(per_image[:3])), (8, np.mean(per_image)), (50, np.mean(per_image))):
        penalty = losses.bce(r1_gamma=2.0, r1_images=n).penalty(square, real, real, keras.random.SeedGenerator(0))
        assert float(penalty) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(GanlabError, match=r"loss bce: r1_images must be >= 0 \(0: all of D's real batch\), found -4"):
        losses.bce(r1_gamma=1.0, r1_images=-4)


def test_gradient_penalty_interpolates_per_image():
    """A critic whose gradient norm is the pixel value |x|*2*4: the penalty depends on where each image's mix lands."""
    import keras

    real = np.ones((64, 2, 2, 1), np.float32)
    fake = np.zeros((64, 2, 2, 1), np.float32)
    square = critic(lambda x: keras.ops.sum(x * x, axis=(1, 2, 3))[:, None], (2, 2, 1))
    # x = e at every pixel: gradient 2e per pixel, norm 4e; E[(4e - 1)^2] over e ~ U(0, 1) is 16/3 - 4 + 1 = 7/3
    penalty = float(losses.gradient_penalty(square, real, fake, keras.random.SeedGenerator(1)))
    assert penalty == pytest.approx(7 / 3, rel=0.25)
    one_e_for_all = [(4 * e - 1) ** 2 for e in (0.0, 1.0)]
    assert min(one_e_for_all) < penalty < max(one_e_for_all)


@pytest.mark.parametrize("loss", ["hinge", {"name": "wgan_gp", "gp_weight": 10.0}, "ragan", {"name": "bce", "r1_gamma": 1.0}])
def test_new_losses_train_in_the_engine(reg, tmp_path, loss):  # noqa: F811
    from ganlab.training.run import train

    recipe = tiny(reg, epochs=1, loss=loss)
    meta, state = final_state(train(recipe, out=tmp_path / "run"))
    assert meta["step"] == 4 and all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


def test_the_engine_adds_the_penalty_to_ds_loss(reg):  # noqa: F811
    import keras

    from ganlab.training.assemble import build_model
    from ganlab_plugins.losses import BCELoss

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
