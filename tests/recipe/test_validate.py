"""Loading a recipe: safe YAML, validation against plugin signatures, overrides, error lines."""

import textwrap

import pytest

from ganlab import GanlabError
from ganlab.components.loading import load_registry
from ganlab.recipe.schema import optimizer_settings
from ganlab.recipe.validate import load_recipe
from tests.conftest import ROOT

BASE = """\
data:
  name: mnist
  split: test
generator:
  name: mlp
discriminator:
  name: mlp
loss:
  name: bce
training:
  epochs: 2
"""


@pytest.fixture(scope="module")
def reg():
    return load_registry()


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def errors(tmp_path, reg, text, overrides=()):
    with pytest.raises(GanlabError) as err:
        load_recipe(write(tmp_path, text), reg, overrides)
    return err.value.lines


def test_defaults_are_filled_in_from_signatures_and_settings(tmp_path, reg):
    recipe = load_recipe(write(tmp_path, BASE), reg)
    assert recipe["generator"]["hidden"] == (256, 512, 1024)
    assert recipe["loss"] == {
        "name": "bce", "generator_loss": "non_saturating", "label_smoothing": 0.0, "r1_gamma": 0.0, "r1_images": 0,
        "r1_every": 1,
    }
    assert recipe["training"]["batch_size"] == 128 and recipe["training"]["noise"] == "normal"
    assert recipe["distribute"] == {"strategy": "none", "devices": None, "sync_batch_norm": True, "tpu": None}
    assert optimizer_settings(recipe, "g") == {
        "name": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999,
        "lr_decay": "none", "decay_start": 0.0, "clip_norm": None,
    }
    assert recipe["output"]["dir"] == "runs"


def test_short_component_form(tmp_path, reg):
    recipe = load_recipe(write(tmp_path, BASE.replace("loss:\n  name: bce", "loss: lsgan")), reg)
    assert recipe["loss"]["name"] == "lsgan" and recipe["loss"]["b"] == 1.0


def test_python_tags_are_refused(tmp_path, reg):
    lines = errors(tmp_path, reg, BASE + "output:\n  dir: !!python/object/apply:os.system ['echo hacked']\n")
    assert len(lines) == 1 and "r.yaml:13: tag" in lines[0] and "not allowed" in lines[0]


def test_invalid_yaml_names_the_line(tmp_path, reg):
    (line,) = errors(tmp_path, reg, BASE + "output: [unclosed\n")
    assert "r.yaml:" in line and "invalid YAML" in line


def test_misspelled_component_suggests_the_nearest(tmp_path, reg):
    (line,) = errors(tmp_path, reg, BASE.replace("name: bce", "name: lsgam"))
    assert line.startswith(f"{tmp_path / 'r.yaml'}:9: loss.name: unknown loss 'lsgam' — did you mean 'lsgan'?")


def test_unknown_parameter_and_section_and_key(tmp_path, reg):
    text = BASE.replace("name: mlp\ndisc", "name: mlp\n  hiden: [1]\ndisc") + "trainin:\n  x: 1\n"
    text = text.replace("epochs: 2", "epochs: 2\n  batchsize: 3")
    lines = errors(tmp_path, reg, text)
    hiden = "generator.hiden: unknown parameter of generator 'mlp' — did you mean 'hidden'?"
    assert any(hiden in line for line in lines)
    assert any("trainin: unknown section — did you mean 'training'?" in line for line in lines)
    assert any("training.batchsize: unknown key — did you mean 'batch_size'?" in line for line in lines)
    assert len(lines) == 3


@pytest.mark.parametrize(
    "override, expected",
    [
        ("training.batch_size=0", "training.batch_size: must be in [1, 65536], found 0"),
        ("training.optimizer.learning_rate=-0.1", "training.optimizer.learning_rate: must be > 0, found -0.1"),
        ("training.batch_size=many", "training.batch_size: expected int, found str 'many'"),
        ("training.noise=gauss", "training.noise: expected one of 'normal', 'uniform', found 'gauss'"),
        ("generator.hidden=[1, x]", "generator.hidden: entry 2 of 2: expected int, found str 'x'"),
        ("loss.label_smoothing=true", "loss.label_smoothing: expected float, found bool true"),
        ("training.optimizer.beta_1=1.0", "training.optimizer.beta_1: must be in [0, 1), found 1.0"),
        ("data.split=valid", "data.split: expected one of 'train', 'test', found 'valid'"),
        (
            "distribute.strategy=horovod",
            "distribute.strategy: expected one of 'none', 'mirrored', 'multi_worker', 'tpu', found 'horovod'",
        ),
        (
            "distribute.devices=2",
            "distribute.devices: only used with strategy mirrored; remove it or set distribute.strategy: mirrored",
        ),
        (
            "distribute.tpu=my-tpu",
            "distribute.tpu: only used with strategy tpu; remove it or set distribute.strategy: tpu",
        ),
    ],
)
def test_type_and_range_errors_name_the_key_and_the_override(tmp_path, reg, override, expected):
    (line,) = errors(tmp_path, reg, BASE, [override])
    assert line == f"--set {expected}"


def test_missing_sections_and_length(tmp_path, reg):
    lines = errors(tmp_path, reg, "data: {name: mnist}\ntraining: {batch_size: 4}\n")
    assert [line.split(": ", 1)[1] for line in lines] == [
        "missing required section 'generator'",
        "missing required section 'discriminator'",
        "missing required section 'loss'",
        "training: set training.epochs or training.steps",
    ]


def test_errors_carry_line_numbers(tmp_path, reg):
    (line,) = errors(tmp_path, reg, BASE.replace("epochs: 2", "epochs: 0"))
    assert line == f"{tmp_path / 'r.yaml'}:11: training.epochs: must be in [1, 1000000], found 0"


def test_overrides_are_typed_by_yaml_rules(tmp_path, reg):
    recipe = load_recipe(
        write(tmp_path, BASE),
        reg,
        [
            "training.epochs=7",
            "training.batch_size=64",
            "training.optimizer.learning_rate=1e-3",
            "training.optimizer.beta_1=0.9",
            "training.latent_dim=32",
            "generator.hidden=[64, 128]",
            "generator.batch_norm=false",
            "training.d_optimizer.learning_rate=0.0004",
        ],
    )
    t = recipe["training"]
    assert (t["epochs"], t["batch_size"], t["latent_dim"]) == (7, 64, 32)
    assert recipe["generator"]["hidden"] == (64, 128) and recipe["generator"]["batch_norm"] is False
    assert optimizer_settings(recipe, "g")["learning_rate"] == 1e-3
    assert optimizer_settings(recipe, "d") == {
        "name": "adam", "learning_rate": 4e-4, "beta_1": 0.9, "beta_2": 0.999,
        "lr_decay": "none", "decay_start": 0.0, "clip_norm": None,
    }


@pytest.mark.parametrize("bad", ["training.epochs", "=3", "training..epochs=3", "data.name.x=1"])
def test_malformed_overrides(tmp_path, reg, bad):
    with pytest.raises(GanlabError, match="--set"):
        load_recipe(write(tmp_path, BASE), reg, [bad])


def test_a_recipe_must_be_a_mapping(tmp_path, reg):
    (line,) = errors(tmp_path, reg, "- a\n- b\n")
    assert "a recipe is a mapping of sections" in line


def test_missing_file(tmp_path, reg):
    with pytest.raises(GanlabError, match="cannot read recipe"):
        load_recipe(tmp_path / "nope.yaml", reg)


def test_shipped_recipes_validate(reg):
    for path in sorted((ROOT / "recipes").glob("*.yaml")):
        load_recipe(path, reg)
