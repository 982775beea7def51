"""Learning-rate schedules: values along the run, D's count of k updates per step, recipe keys."""

import numpy as np
import pytest

from ganlab import GanlabError
from tests.helpers import final_state, tiny


def test_linear_and_cosine_decay_values():
    from ganlab.training.optimizers import Decay

    linear = Decay(1e-3, total=100, start=0.5, shape="linear")
    assert [round(float(linear(s)), 8) for s in (0, 50, 75, 100, 130)] == [1e-3, 1e-3, 5e-4, 0.0, 0.0]
    cosine = Decay(1e-3, total=100, shape="cosine")
    assert [round(float(cosine(s)), 8) for s in (0, 50, 100)] == [1e-3, 5e-4, 0.0]
    assert Decay.from_config(linear.get_config()).get_config() == linear.get_config()


def test_schedules_stretch_over_each_players_update_count(reg, tmp_path):
    from ganlab.training.assemble import build_model

    d_decays = {"learning_rate": 0.01, "lr_decay": "linear"}
    recipe = tiny(reg, epochs=1, d_steps=2, optimizer=d_decays, g_optimizer={"lr_decay": "none"})
    model = build_model(recipe, (8, 8, 1), total_steps=10)
    assert model.d_optimizer.learning_rate.numpy() == pytest.approx(0.01)
    model.train_on_batch(np.zeros((64, 8, 8, 1), np.float32))  # one step: 2 D updates of 20, 1 G update
    assert model.d_optimizer.iterations.numpy() == 2
    assert model.d_optimizer.learning_rate.numpy() == pytest.approx(0.01 * (1 - 2 / 20))
    assert model.g_optimizer.learning_rate.numpy() == pytest.approx(0.01)


def test_decay_changes_a_run_only_after_it_starts(reg, tmp_path):
    from ganlab.training.run import train

    constant = train(tiny(reg, epochs=2), out=tmp_path / "constant")
    decayed = train(tiny(reg, epochs=2, optimizer={"lr_decay": "cosine", "decay_start": 0.5}), out=tmp_path / "decayed")
    first = "checkpoints/epoch_0001.npz"
    with np.load(constant / first) as a, np.load(decayed / first) as b:
        weights = [k for k in a.files if k.startswith(("generator/", "discriminator/"))]  # optimizer layouts differ
        assert weights and all(np.array_equal(a[k], b[k]) for k in weights)  # steps 1-4 of 8: full rate
    _, a = final_state(constant)
    meta, b = final_state(decayed)
    assert meta["step"] == 8 and not np.array_equal(a["generator/00000"], b["generator/00000"])


def test_gradient_clipping_bounds_the_update(reg):
    from ganlab.training.assemble import build_model

    def first_step_change(**optimizer):
        model = build_model(tiny(reg, epochs=1, optimizer=optimizer), (8, 8, 1), total_steps=1)
        before = model.discriminator.trainable_variables[0].numpy().copy()
        model.train_on_batch(np.ones((64, 8, 8, 1), np.float32))
        return np.abs(model.discriminator.trainable_variables[0].numpy() - before).max()

    # Adam divides by the gradient's scale, so clipping to far below epsilon (1e-7) shrinks the step.
    assert first_step_change(clip_norm=1e-10) < 0.01 * first_step_change()


def test_unknown_schedule_is_a_recipe_error(reg):
    with pytest.raises(GanlabError, match="lr_decay"):
        tiny(reg, optimizer={"lr_decay": "exponential"})
