"""Conditional GANs: labels in the stream, G(z, y) and D(x, y) in training, sampling a
chosen class, per-class accuracy in evaluation, and the errors of mismatched parts."""

import json

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.callbacks.metrics_csv import read_rows
from ganlab.evaluation.evaluate import evaluate
from ganlab.evaluation.metrics import class_accuracy
from ganlab.evaluation.report import table
from ganlab.recipe.validate import validate
from ganlab.sampling import sample
from ganlab.training.run import resume, train
from ganlab.training.stream import real_stream
from tests.conftest import ROOT, run_cli
from tests.helpers import final_state, tiny

CLASSES = 4


def ctiny(reg, epochs=2, data=None, generator="cmlp", discriminator="cmlp", output=None, **training):
    """A small conditional recipe: 8x8 noise images in CLASSES classes, small conditional MLPs."""
    recipe = {
        "data": data or {"name": "noise", "n": 256, "classes": CLASSES},
        "generator": {"name": generator, "hidden": [32, 32], "embed_dim": 4},
        "discriminator": {"name": discriminator, "hidden": [32], "dropout": 0.2},
        "loss": training.pop("loss", "bce"),
        "training": {
            "epochs": epochs,
            "batch_size": 32,
            "latent_dim": 8,
            "d_steps": 2,
            "steps_per_execution": 2,
            **training,
        },
        "output": {"checkpoint_every": 1, "grid": 3, **(output or {})},
    }
    return validate(recipe, reg, source="ctiny.yaml")


def test_the_generators_images_depend_on_the_label(reg):
    cmlp = reg.resolve("generator", "cmlp")
    generator = cmlp.build(latent_dim=8, image_shape=(8, 8, 1), num_classes=CLASSES, hidden=(16,))
    z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    same_z = np.concatenate([z, z])
    images = np.asarray(generator([same_z, np.array([0, 1, 2, 3], np.int32)], training=False))
    assert not np.allclose(images[0], images[2]) and not np.allclose(images[1], images[3])
    assert [tuple(i.shape) for i in generator.inputs] == [(None, 8), (None,)]
    assert keras.backend.standardize_dtype(generator.inputs[1].dtype) == "int32"


def test_the_streams_labels_belong_to_its_images_and_resume_exactly():
    images = np.arange(60, dtype=np.uint8).reshape(60, 1, 1, 1)  # each image's pixel is its index
    labels = (np.arange(60) * 7) % 5
    stream = real_stream(images, 12, 3, (0.0, 255.0), d_steps=2, replicas=2, labels=labels)
    batches = [(x.numpy().ravel().astype(int), y.numpy()) for x, y in stream.take(8)]  # 5 steps an epoch: crosses one
    for pixels, batch_labels in batches:
        assert batch_labels.dtype == np.int32 and np.array_equal(batch_labels, labels[pixels])
    resumed = real_stream(images, 12, 3, (0.0, 255.0), start_step=6, d_steps=2, replicas=2, labels=labels)
    for (pixels, batch_labels), (x, y) in zip(batches[6:], resumed.take(2)):
        assert np.array_equal(pixels, x.numpy().ravel().astype(int)) and np.array_equal(batch_labels, y.numpy())
    unlabelled = next(iter(real_stream(images, 12, 3, (0.0, 255.0), d_steps=2, replicas=2)))
    # labels change nothing about the images
    assert np.array_equal(unlabelled.numpy().ravel().astype(int), batches[0][0])


@pytest.mark.parametrize(
    "options",
    [
        dict(ema=0.9, d_validation=0.1, instance_noise=0.3, d_batch="concat"),
        dict(loss="wgan_gp", d_steps=1),
        dict(loss="ragan", noise="uniform"),
    ],
    ids=["bce-ema-validation-noise-concat", "wgan_gp", "ragan"],
)
def test_a_tiny_conditional_run_trains(reg, tmp_path, options):
    run_dir = train(ctiny(reg, **options), out=tmp_path / "run")
    rows = read_rows(run_dir / "metrics.csv")
    assert len(rows) == 2 and all(np.isfinite(float(row[key])) for row in rows for key in ("d_loss", "g_loss"))
    if "d_validation" in options:
        assert 0 <= float(rows[-1]["d_acc_val_real"]) <= 1
    generator = keras.models.load_model(run_dir / "generator.keras", compile=False)
    assert len(generator.inputs) == 2
    grid = iio.imread(run_dir / "samples" / "epoch_0002.png")
    assert grid.shape == (CLASSES * 9 - 1, 3 * 9 - 1)  # one row per class, grid (3) columns of 8x8 tiles
    assert "num_classes: 4" in (run_dir / "recipe.yaml").read_text()


def test_a_conditional_run_resumes_exactly(reg, tmp_path):
    _, straight = final_state(train(ctiny(reg, epochs=4, ema=0.9), out=tmp_path / "straight"))
    run_dir = train(ctiny(reg, epochs=2, ema=0.9), out=tmp_path / "stopped")
    resume(run_dir, reg, ["training.epochs=4"])
    _, resumed = final_state(run_dir)
    assert all(np.array_equal(straight[k], resumed[k]) for k in straight)


def test_conditional_models_need_labelled_data_before_anything_is_written(reg, tmp_path):
    message = (
        r"generator 'cmlp' and discriminator 'cmlp' are conditional \(they take labels\) "
        r"but dataset 'noise' has no labels"
    )
    with pytest.raises(GanlabError, match=message):
        train(ctiny(reg, data={"name": "noise", "n": 256}), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("generator, discriminator", [("cmlp", "mlp"), ("mlp", "cdcgan")])
def test_mixing_a_conditional_and_an_unconditional_model_is_a_recipe_error(reg, generator, discriminator):
    message = (
        r"ctiny.yaml: discriminator.name: generator '\w+' is (un)?conditional.* "
        r"use a conditional generator and discriminator"
    )
    with pytest.raises(GanlabError, match=message):
        validate(
            {
                "data": {"name": "noise", "classes": 2},
                "generator": {"name": generator},
                "discriminator": {"name": discriminator},
                "loss": "bce",
                "training": {"epochs": 1},
            },
            reg,
            source="ctiny.yaml",
        )


def test_mixed_recipe_through_the_cli_is_one_line_exit_2():
    result = run_cli(
        "check", ROOT / "recipes" / "cgan_mnist.yaml",
        "--set", "discriminator.name=mlp", "--set", "discriminator.hidden=[8]",
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert (
        "discriminator.name: generator 'cmlp' is conditional (takes labels) but discriminator 'mlp' is unconditional"
        in result.stderr
    )


@pytest.fixture(scope="module")
def conditional_run(reg, tmp_path_factory):
    data = {"name": "noise", "n": 400, "size": 28, "classes": CLASSES}
    recipe = ctiny(reg, epochs=1, data=data, ema=0.9, output={"grid": 2})
    return train(recipe, out=tmp_path_factory.mktemp("conditional") / "run")


def test_sample_draws_the_chosen_class(conditional_run, tmp_path):
    sample(conditional_run, tmp_path / "seven.npz", n=6, seed=1, label=3)
    sample(conditional_run, tmp_path / "zero.npz", n=6, seed=1, label=0)
    sample(conditional_run, tmp_path / "cycle.npz", n=6, seed=1)
    three, zero, cycle = (np.load(tmp_path / name) for name in ("seven.npz", "zero.npz", "cycle.npz"))
    assert three["labels"].tolist() == [3] * 6 and cycle["labels"].tolist() == [0, 1, 2, 3, 0, 1]
    assert three["images"].shape == (6, 28, 28, 1)
    assert not np.allclose(three["images"], zero["images"])  # same z, other class
    assert np.array_equal(cycle["images"][[0, 4]], zero["images"][[0, 4]])  # same z and label, same image


def test_sample_label_errors_are_one_line_exit_2(reg, conditional_run, tmp_path):
    out_of_range = run_cli("sample", conditional_run, "--label", CLASSES, "-o", tmp_path / "x.png")
    assert out_of_range.returncode == 2
    assert f"--label {CLASSES}: {conditional_run} has classes 0 to {CLASSES - 1}" in out_of_range.stderr
    unconditional = train(tiny(reg, epochs=1), out=tmp_path / "plain")
    refused = run_cli("sample", unconditional, "--label", 1, "-o", tmp_path / "y.png")
    assert refused.returncode == 2
    assert "is an unconditional run (its generator takes no labels); leave --label out" in refused.stderr
    assert "Traceback" not in refused.stderr + out_of_range.stderr and not (tmp_path / "x.png").exists()


def test_class_accuracy_counts_each_requested_class_separately():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    requested = np.array([0, 0, 1, 2, 0])  # class 0: right, wrong, right; class 1: wrong; class 2: right
    assert class_accuracy(probs, requested, 3) == pytest.approx([2 / 3, 0.0, 1.0])
    assert np.isnan(class_accuracy(probs, requested, 4)[3])  # no image asked for class 3


def test_eval_reports_per_class_accuracy_of_a_conditional_run(reg, conditional_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    result = evaluate(conditional_run, reg, n=40, log=lambda *_: None)
    assert result["num_classes"] == CLASSES
    for name in ("real_baseline", "generator", "generator_raw"):
        row = result["results"][name]
        assert len(row["class_accuracy"]) == CLASSES
        assert row["mean_class_accuracy"] == pytest.approx(np.mean(row["class_accuracy"]))
    assert result["results"]["real_baseline"]["mean_class_accuracy"] > 0.9  # the toy classes are easy
    recorded = json.loads((conditional_run / "eval.json").read_text())[-1]
    assert recorded["results"]["generator"]["class_accuracy"] == result["results"]["generator"]["class_accuracy"]
    text = table(result)
    assert "class acc" in text and "per-class accuracy" in text and text.splitlines()[-1].startswith("generator_raw")
