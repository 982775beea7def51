"""InfoGAN modes (training.info_modes): G reads a mode from z, D guesses it, a run trains with it."""

import numpy as np
import pytest

from ganlab import GanlabError
from tests.conftest import ROOT
from tests.helpers import final_state, tiny

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")


def test_the_generator_reads_a_mode_and_keeps_its_output_range(reg):
    from ganlab.training import infogan
    from ganlab.training.assemble import build_model
    from ganlab.training.layers import LatentModes, leaf_layers

    plain = build_model(tiny(reg), (8, 8, 1)).generator
    plain.output_range = (0.0, 1.0)
    g = infogan.with_modes(plain, 3)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(g(z), plain(LatentModes(3)(z)), atol=1e-6)
    assert g.output_range == (0.0, 1.0) and isinstance(next(iter(leaf_layers(g))), keras.layers.InputLayer)
    assert any(isinstance(layer, LatentModes) for layer in leaf_layers(g))


def test_the_mode_guess_shares_ds_layers_and_reads_its_last_features(reg):
    from ganlab.training import infogan
    from ganlab.training.assemble import build_model

    d = build_model(tiny(reg), (8, 8, 1)).discriminator
    head = infogan.mode_head(d, 5)
    images = np.random.default_rng(1).uniform(-1, 1, (3, 8, 8, 1)).astype("float32")
    logits, guesses = head(images)
    np.testing.assert_allclose(logits, d(images), atol=1e-6)
    assert guesses.shape == (3, 5)
    own = {id(v) for v in d.trainable_variables}
    extra = [v for v in head.trainable_variables if id(v) not in own]
    assert own <= {id(v) for v in head.trainable_variables} and [tuple(v.shape) for v in extra] == [(32, 5), (5,)]


def test_the_mode_loss_is_the_cross_entropy_against_zs_argmax():
    from ganlab.training import infogan

    z = np.array([[0.0, 2.0, 1.0, 9.0], [3.0, 1.0, 0.0, -9.0]], "float32")  # modes 1 and 0 (entry 3 is not a mode)
    guesses = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.5]], "float32")
    log_p = guesses - np.log(np.exp(guesses).sum(axis=1, keepdims=True))
    assert float(infogan.mode_loss(z, guesses)) == pytest.approx(-(log_p[0, 1] + log_p[1, 0]) / 2, rel=1e-6)


def test_a_run_with_modes_trains_the_guess_and_saves_a_generator_that_reads_modes(reg, tmp_path):
    from ganlab.rundir import load_generator
    from ganlab.training.layers import LatentModes, leaf_layers
    from ganlab.training.run import train

    run_dir = train(tiny(reg, epochs=1, info_modes=3), out=tmp_path / "run")
    meta, state = final_state(run_dir)
    guess = [state[k] for k in sorted(state) if k.startswith("mode_guess/")]
    assert meta["step"] == 4 and [w.shape for w in guess] == [(32, 3), (3,)]
    assert np.abs(guess[1]).max() > 0  # the bias starts at 0: D's optimizer trained the head
    g = load_generator(run_dir / "generator.keras")
    assert any(isinstance(layer, LatentModes) for layer in leaf_layers(g))
    assert g(np.zeros((2, 8), "float32")).shape == (2, 8, 8, 1)
    # exact resume with the head: tests/training/test_run.py::test_resume_is_exact


def test_modes_need_room_in_z_an_unconditional_gan_and_a_sane_weight(reg, tmp_path):
    from ganlab.training.assemble import build_model

    with pytest.raises(GanlabError, match=r"training.info_modes \(8\) must be smaller than training.latent_dim \(8\)"):
        build_model(tiny(reg, info_modes=8), (8, 8, 1))
    with pytest.raises(GanlabError, match="training.info_modes is for unconditional GANs"):
        build_model(tiny(reg, info_modes=3), (8, 8, 1), classes=10)
    with pytest.raises(GanlabError, match=r"training.info_modes.*0 \(off\) or at least 2"):
        tiny(reg, info_modes=1)
    with pytest.raises(GanlabError, match="training.info_weight"):
        tiny(reg, info_modes=3, info_weight=0.0)


def test_recipe_validation_reports_unusable_modes_with_the_file_and_line():
    from ganlab.components.loading import load_registry
    from ganlab.recipe.validate import load_recipe

    recipes = ROOT / "recipes"
    too_many = r"dcgan_mnist.yaml:\d+: training: training.info_modes \(100\) must be smaller"
    with pytest.raises(GanlabError, match=too_many):
        load_recipe(recipes / "dcgan_mnist.yaml", load_registry(), ["training.info_modes=100"])
    conditional = r"cdcgan_mnist.yaml:\d+: training: training.info_modes is for unconditional GANs"
    with pytest.raises(GanlabError, match=conditional):
        load_recipe(recipes / "cdcgan_mnist.yaml", load_registry(), ["training.info_modes=5"])
