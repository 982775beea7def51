"""The optimizer and EMA updates compiled on their own take the same steps as the plain ones."""

import keras
import numpy as np
import pytest

from ganlab.training import fused_updates
from ganlab.training.assemble import build_model
from tests.helpers import tiny


def _trained(reg, monkeypatch, fused):
    if not fused:
        monkeypatch.setattr(fused_updates, "wanted", lambda *args: False)
    keras.utils.set_random_seed(0)
    model = build_model(tiny(reg, epochs=1, jit_compile=False, ema=0.9), (8, 8, 1), steps_per_execution=2)
    real = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    model.make_train_function()
    for _ in range(2):
        model.train_function(iter([real, real]))
    used = dict(model.fused._compiled)
    monkeypatch.undo()
    return [v.numpy() for v in (*model.generator.variables, *model.ema_generator.variables)], used


def test_fused_updates_match_the_plain_ones(reg, monkeypatch):
    fused, compiled = _trained(reg, monkeypatch, fused=True)
    plain, none = _trained(reg, monkeypatch, fused=False)
    assert sorted(compiled) == ["d", "ema", "g"] and not none
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("compiled_step", [True, False])
def test_a_compiled_step_is_left_alone(compiled_step):
    assert fused_updates.wanted(compiled_step) is not compiled_step
