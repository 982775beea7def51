"""The default callback list: every callback a recipe turns on, in the one order they must run in."""

from types import SimpleNamespace

import numpy as np

from ganlab.callbacks.defaults import default_callbacks
from ganlab.recipe.validate import validate
from ganlab.training.assemble import build_model
from tests.helpers import tiny

EVERYTHING_ON = [
    "NaNStop", "StandingStatistics", "StepLimit", "DValidation", "QualityCheck", "KeepBest",
    "HealthCheck", "MetricsCSV", "SampleGrids", "LossPlot", "QualityPlot", "Checkpointer", "TensorBoardLog",
]


def names(callbacks):
    return [type(cb).__name__ for cb in callbacks]


def test_a_recipe_with_everything_on_gets_every_callback_in_order(reg, tmp_path):
    base = tiny(reg, ema=0.9, steps=6, d_validation=0.25)
    output = {**base.data["output"], "eval_every": 1, "keep_best": "fid", "tensorboard": True}
    data = {**base.data, "training": {**base.data["training"], "early_stop": 2}, "output": output}
    recipe = validate(data, reg, source="everything.yaml")
    model = build_model(recipe, (8, 8, 1))
    images = np.zeros((8, 8, 8, 1), np.uint8)
    judge = SimpleNamespace(data_classes=4, available=100)  # what the callbacks read of a Judge when built
    callbacks, nan_stop = default_callbacks(
        recipe, model, tmp_path, epochs=2, initial_epoch=0, initial_step=0, judge=judge,
        validation=(images, images, (None, None)),
    )
    assert names(callbacks) == EVERYTHING_ON
    by_name = dict(zip(names(callbacks), callbacks))
    assert callbacks[0] is nan_stop and by_name["Checkpointer"].nan_stop is nan_stop
    assert by_name["MetricsCSV"].health is by_name["HealthCheck"] and by_name["MetricsCSV"].best is by_name["KeepBest"]
    assert by_name["Checkpointer"].best is by_name["KeepBest"] and by_name["KeepBest"].sampler is model.ema_generator
    assert by_name["KeepBest"].patience == 2 and by_name["QualityPlot"].tracked == "fid"


def test_a_plain_recipe_gets_the_writers_only(reg, tmp_path):
    recipe = tiny(reg)
    callbacks, _ = default_callbacks(recipe, build_model(recipe, (8, 8, 1)), tmp_path, 2, 0, 0)
    assert names(callbacks) == ["NaNStop", "HealthCheck", "MetricsCSV", "SampleGrids", "LossPlot", "Checkpointer"]
    assert names(callbacks) == [name for name in EVERYTHING_ON if name in names(callbacks)]
