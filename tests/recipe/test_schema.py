"""The schema of ganlab's own recipe keys, and the order of a recipe's sections."""

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.components.params import type_name
from ganlab.recipe.schema import (
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_GRID,
    MAX_LATENT_DIM,
    MAX_SEED,
    MAX_STEPS,
    REQUIRED_SECTIONS,
    SECTIONS,
    SETTINGS,
    describe_settings,
)
from ganlab.recipe.validate import validate
from tests.conftest import ROOT


def base():
    return {
        "data": {"name": "mnist", "split": "test"},
        "generator": "mlp",
        "discriminator": "mlp",
        "loss": "bce",
        "training": {"epochs": 1},
    }


def test_every_setting_is_documented():
    docs = (ROOT / "docs" / "recipes.md").read_text()
    missing = [key for key, *_ in describe_settings() if f"`{key}`" not in docs]
    assert not missing, f"keys missing from docs/recipes.md: {missing}"


def test_the_component_sections_come_first_in_recipe_order():
    assert SECTIONS == ["data", "generator", "discriminator", "loss", "training", "output", "distribute", "provenance"]
    assert REQUIRED_SECTIONS == ["data", "generator", "discriminator", "loss", "training"]


def settings():
    """(key path, Setting) of every ganlab-owned key."""
    rows = []

    def walk(spec, prefix):
        for key, setting in spec.items():
            if isinstance(setting, dict):
                walk(setting, f"{prefix}.{key}")
            elif setting != "overrides":
                rows.append((f"{prefix}.{key}", setting))

    for section, spec in SETTINGS.items():
        walk(spec, section)
    return rows


FLOATS = [path for path, setting in settings() if type_name(setting.annotation).split()[0] == "float"]
INTS = [path for path, setting in settings() if type_name(setting.annotation).startswith("int")]


def test_the_float_and_int_settings_are_found():
    assert {"training.optimizer.learning_rate", "training.instance_noise", "training.ema"} <= set(FLOATS)
    assert {"training.epochs", "training.seed", "output.grid"} <= set(INTS)


@pytest.mark.parametrize("path", FLOATS)
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e999"])
def test_every_float_setting_refuses_non_finite_values(reg, path, value):
    with pytest.raises(GanlabError) as err:
        validate(base(), reg, overrides=[f"{path}={value}"])
    (line,) = err.value.lines
    assert line.startswith(f"--set {path}: must be a finite number, found ")


# Keys whose largest value only means "rarely" or "never": no upper bound is needed.
UNBOUNDED = {"output.sample_every", "output.checkpoint_every", "output.eval_every", "training.info_modes"}


@pytest.mark.parametrize("path", [p for p in INTS if p not in UNBOUNDED])
def test_every_size_setting_has_an_upper_bound(reg, path):
    with pytest.raises(GanlabError) as err:
        validate(base(), reg, overrides=[f"{path}={10**15}"])
    assert err.value.lines[0].startswith(f"--set {path}: must be in [") and ", found 1000000000000000" in str(err.value)


def test_the_seed_range_is_what_numpy_and_keras_accept(reg):
    low = validate(base(), reg, overrides=["training.seed=0"])["training"]["seed"]
    high = validate(base(), reg, overrides=[f"training.seed={MAX_SEED}"])["training"]["seed"]
    np.random.seed(low), np.random.seed(high)  # keras.utils.set_random_seed calls this
    for bad in (-1, MAX_SEED + 1, 10**30):
        with pytest.raises(ValueError):
            np.random.seed(bad)
        with pytest.raises(GanlabError, match=rf"--set training.seed: must be in \[0, {MAX_SEED}\], found {bad}$"):
            validate(base(), reg, overrides=[f"training.seed={bad}"])


def test_bounds_are_shown_where_settings_are_described():
    described = {path: kind for path, kind, *_ in describe_settings()}
    assert described["training.epochs"] == f"int in [1, {MAX_EPOCHS}] or null"
    assert described["output.grid"] == f"int in [1, {MAX_GRID}]"
    assert described["training.optimizer.learning_rate"] == "float > 0"
    docs = (ROOT / "docs" / "recipes.md").read_text()
    for number in (MAX_EPOCHS, MAX_STEPS, MAX_BATCH, MAX_LATENT_DIM, MAX_GRID, MAX_SEED):
        assert f"{number:,}" in docs, f"docs/recipes.md does not state the bound {number:,}"
