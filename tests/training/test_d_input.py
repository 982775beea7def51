"""ganlab.training.d_input: what D sees. The transforms' table, its one entry point, and
instance noise (annealed to zero over the run)."""

import dataclasses
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError
from ganlab.recipe.schema import SETTINGS
from ganlab.training import d_input
from ganlab.training.assemble import build_model
from ganlab.training.options import EngineOptions
from ganlab.training.run import train
from tests.helpers import final_state, tiny


def test_instance_noise_is_annealed_to_zero(reg):
    model = build_model(tiny(reg, instance_noise=0.5), (8, 8, 1), total_steps=10)
    images = np.zeros((4000, 8, 8, 1), np.float32)
    for step, std in ((0, 0.5), (5, 0.25), (10, 0.0), (12, 0.0)):
        model.g_optimizer.iterations.assign(step)
        noisy = np.asarray(model._for_d(images))
        assert noisy.std() == pytest.approx(std, abs=0.005), step
    off = build_model(tiny(reg), (8, 8, 1), total_steps=10)
    assert off._for_d(images) is images


def test_a_run_with_instance_noise_differs_only_by_it(reg, tmp_path):
    _, plain = final_state(train(tiny(reg, epochs=1), out=tmp_path / "plain"))
    meta, noisy = final_state(train(tiny(reg, epochs=1, instance_noise=0.3), out=tmp_path / "noisy"))
    assert meta["step"] == 4 and not np.array_equal(plain["discriminator/00000"], noisy["discriminator/00000"])
    with pytest.raises(GanlabError, match="instance_noise"):
        tiny(reg, instance_noise=-1.0)


def test_the_table_is_consulted_in_order_and_only_for_options_that_are_set(monkeypatch):
    seen = []

    def transform(name):
        def apply(images, value, view):
            seen.append((name, value, view))
            return images + [name]

        return apply

    monkeypatch.setattr(d_input, "TRANSFORMS", {"first": transform("first"), "second": transform("second")})
    view = object()
    assert d_input.for_d([], SimpleNamespace(first=0.5, second=2), view) == ["first", "second"]
    assert seen == [("first", 0.5, view), ("second", 2, view)]
    seen.clear()
    assert d_input.for_d([], SimpleNamespace(first=0.0, second=3), view) == ["second"]
    assert seen == [("second", 3, view)]
    seen.clear()
    images = ["unchanged"]
    assert d_input.for_d(images, SimpleNamespace(first=0, second=None), view) is images and seen == []


def test_every_transform_is_turned_on_by_an_engine_option_and_a_training_setting():
    fields = {f.name for f in dataclasses.fields(EngineOptions)}
    assert list(d_input.TRANSFORMS)[0] == "instance_noise"
    for option in d_input.TRANSFORMS:
        assert option in fields and option in SETTINGS["training"], option
        assert not getattr(EngineOptions(), option), f"{option} is on by default"


def test_instance_noise_draws_from_the_runs_noise_seed_for_the_global_batch():
    images = tf.zeros((6, 4, 4, 1))
    seed = keras.random.SeedGenerator(3)
    view = d_input.View(tf.Variable(2, dtype=tf.int64), 8, seed)
    before = np.array(seed.state.numpy())
    noisy = d_input.instance_noise(images, 0.4, view)
    assert not np.array_equal(seed.state.numpy(), before)  # the draw advanced the run's seed
    expected = 0.4 * (1 - 2 / 8) * keras.random.normal((6, 4, 4, 1), seed=keras.random.SeedGenerator(3))
    np.testing.assert_array_equal(noisy, expected)
    assert float(d_input.View(tf.Variable(20, dtype=tf.int64), 8, seed).progress()) == 1.0
