"""`ganlab eval`: the split protocol, eval.json provenance, the real baseline beside the samples."""

import json
import re

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.components.loading import load_registry
from ganlab.recipe.validate import validate
from tests import toy_plugins


@pytest.fixture(scope="module")
def reg():
    return load_registry(plugins=[("toolkit", toy_plugins.Toolkit())])


@pytest.fixture(scope="module")
def run_dir(reg, tmp_path_factory):
    from ganlab.training.run import train

    recipe = validate(
        {
            "data": {"name": "noise", "n": 400, "size": 28, "classes": 9},
            "generator": {"name": "mlp", "hidden": [32]},
            "discriminator": {"name": "mlp", "hidden": [32]},
            "loss": "bce",
            "training": {"epochs": 1, "batch_size": 50, "latent_dim": 8, "ema": 0.9},
            "output": {"grid": 2},
        },
        reg,
        source="eval.yaml",
    )
    return train(recipe, out=tmp_path_factory.mktemp("eval") / "run")


def test_eval_writes_results_with_provenance_and_the_real_baseline(reg, run_dir, tmp_path, monkeypatch):
    from ganlab.evaluation.evaluate import evaluate
    from ganlab.evaluation.report import table

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    result = evaluate(run_dir, reg, n=50, log=lambda *_: None)
    assert set(result["results"]) == {"real_baseline", "generator", "generator_raw"}
    assert result["n"] == 50 and result["seed"] == 0 and result["ema"] == 0.9 and result["best"] is None
    assert result["extractor"]["extractor"] == "classifier" and result["extractor"]["architecture"] == "plain"
    assert len(result["extractor"]["hash"]) == 16 and (tmp_path / "cache").is_dir()
    assert "100 of 400 real images" in result["reference"]
    baseline = result["results"]["real_baseline"]
    assert result["extractor"]["held_out_accuracy"] > 0.9  # the toy labels are easy
    assert baseline["classes_covered"] == 9 and baseline["classifier_score"] > 5
    noise = result["results"]["generator"]
    assert noise["fid"] > baseline["fid"]  # an untrained G is further from the data than real images
    stored = json.loads((run_dir / "eval.json").read_text())
    assert stored[-1] == json.loads(json.dumps(result))
    text = table(result)
    assert "real_baseline" in text and "FID" in text and "n=50" in text
    card = (run_dir / "MODEL_CARD.md").read_text()  # rewritten by the evaluation
    assert "Not evaluated yet" not in card and table(stored[-1]) in card and result["reference"] in card


def test_classifier_is_cached_by_content(reg, run_dir, tmp_path, monkeypatch):
    from ganlab.evaluation.evaluate import evaluate

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    first = evaluate(run_dir, reg, n=20, log=lambda *_: None)
    files = sorted((tmp_path / "cache").iterdir())
    second = evaluate(run_dir, reg, n=20, log=lambda *_: None)
    assert sorted((tmp_path / "cache").iterdir()) == files and len(files) == 1
    assert first["extractor"]["hash"] == second["extractor"]["hash"]
    assert first["results"] == second["results"]


def test_sample_count_beyond_the_reference_is_refused(reg, run_dir):
    from ganlab.evaluation.evaluate import evaluate

    for n in (101, 1):  # one sample has no covariance
        with pytest.raises(GanlabError, match=rf"-n {n}: between 2 and 100"):
            evaluate(run_dir, reg, n=n)


def test_the_three_parts_are_disjoint():
    from ganlab.evaluation.judge import split_real

    data = toy_plugins.noise_images(n=40, classes=4)
    data.images[:, 0, 0, 0] = np.arange(40)  # tag each image
    parts = split_real(data)
    tags = [set(images[:, 0, 0, 0].tolist()) for images, _ in parts]
    assert [len(t) for t in tags] == [20, 10, 10]
    assert not (tags[0] & tags[1] or tags[0] & tags[2] or tags[1] & tags[2])


def toy_recipe(reg, data, eval_every=1, **output):
    return validate(
        {
            "data": data,
            "generator": {"name": "mlp", "hidden": [32]},
            "discriminator": {"name": "mlp", "hidden": [32]},
            "loss": "bce",
            "training": {"epochs": 2, "batch_size": 50, "latent_dim": 8},
            "output": {"grid": 2, "eval_every": eval_every, **output},
        },
        reg,
        source="quality.yaml",
    )


def test_quality_checks_during_training_fill_metrics_csv(reg, tmp_path, monkeypatch, capsys):
    from ganlab.callbacks.metrics_csv import read_rows
    from ganlab.training.run import train

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    run_dir = train(toy_recipe(reg, {"name": "noise", "n": 400, "size": 28, "classes": 9}), out=tmp_path / "run")
    assert "real baseline: score" in capsys.readouterr().out
    rows = read_rows(run_dir / "metrics.csv")
    assert len(rows) == 2
    for row in rows:
        assert 1.0 <= float(row["classifier_score"]) <= 9.0 + 1e-9
        assert 0 <= int(float(row["classes_covered"])) <= 9
        assert float(row["kl_to_uniform"]) >= 0 and float(row["fid"]) > 0


def test_the_classifier_needs_labels_and_an_unknown_extractor_is_named():
    from ganlab.evaluation.judge import Judge

    unlabelled = toy_plugins.noise_images(n=40)
    with pytest.raises(GanlabError, match="extractor 'classifier' needs labels and dataset 'noise' has none"):
        Judge(unlabelled, "noise", extractor="classifier", log=lambda *_: None)
    with pytest.raises(GanlabError, match="unknown extractor 'vgg': choose one of auto, classifier, ssl, inception"):
        Judge(unlabelled, "noise", extractor="vgg", log=lambda *_: None)


def test_train_extractor_reports_held_out_accuracy(reg, run_dir, tmp_path, monkeypatch):
    from ganlab.evaluation.evaluate import train_extractor

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    info = train_extractor(run_dir, reg, log=lambda *_: None)
    assert info["trained_on"] == 200 and info["held_out_accuracy"] > 0.9
    assert info["file"].startswith(str(tmp_path / "cache")) and "100 of 400" in info["reference"]


def test_a_run_stopped_before_its_final_save_says_what_to_run(reg, tmp_path):
    from ganlab.evaluation.evaluate import evaluate

    stored = "data: {}\ngenerator: {}\ndiscriminator: {}\nloss: bce\ntraining: {latent_dim: 8, noise: normal}\n"
    (tmp_path / "recipe.yaml").write_text(stored)  # as a run before image_shape was recorded wrote it
    with pytest.raises(GanlabError, match="no generator.keras and no checkpoint: the run never finished an epoch"):
        evaluate(tmp_path, reg)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "epoch_0002.npz").write_bytes(b"")
    with pytest.raises(GanlabError) as stopped:
        evaluate(tmp_path, reg)
    assert stopped.value.lines == [
        f"{tmp_path}: no generator.keras (the run stopped before saving it); run 'ganlab run --resume {tmp_path}' "
        "to write it from epoch_0002.npz (training on first, if it had not finished)"
    ]
    with pytest.raises(GanlabError, match="--seed -1: a seed must be a whole number from 0 to 4294967295"):
        evaluate(tmp_path, reg, seed=-1)


def test_a_run_without_generator_keras_is_evaluated_from_its_last_checkpoint(reg, run_dir, tmp_path, monkeypatch):
    import shutil

    from ganlab.evaluation.evaluate import evaluate

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "eval.json").unlink(missing_ok=True)
    for name in ("generator.keras", "generator_raw.keras"):
        (copy / name).unlink()
    saved = evaluate(run_dir, reg, n=20, log=lambda *_: None)["results"]
    restored = evaluate(copy, reg, n=20, log=lambda *_: None)["results"]
    assert set(restored) == {"real_baseline", "generator", "generator_raw"}
    for name in ("generator", "generator_raw"):  # the same weights; kernels may differ in the last bits
        assert restored[name]["fid"] == pytest.approx(saved[name]["fid"], rel=1e-4)


def test_an_extractor_that_does_not_fit_the_data_is_one_line(reg, run_dir, tmp_path, monkeypatch):
    from ganlab import ImageData
    from ganlab.evaluation.evaluate import evaluate
    from ganlab.evaluation.judge import Judge

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    tiny = toy_plugins.noise_images(n=40, size=8, classes=3)
    with pytest.raises(GanlabError, match="images of at least 9x9.*these are 8x8x1") as caught:
        Judge(tiny, "noise", extractor="classifier", log=lambda *_: None)
    two_channels = ImageData(np.zeros((40, 32, 32, 2), np.uint8))
    with pytest.raises(GanlabError, match="1 or 3 channels") as caught:
        Judge(two_channels, "noise", extractor="inception", log=lambda *_: None)
    assert "\n" not in str(caught.value)
    missing = tmp_path / "nowhere" / "inception.pb"
    with pytest.raises(GanlabError, match=f"Inception weights {re.escape(str(missing))} not found"):
        evaluate(run_dir, reg, n=20, extractor="inception", options={"weights": missing}, log=lambda *_: None)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_eval_records_the_best_quality_check_and_scores_the_best_generator(reg, run_dir, tmp_path, monkeypatch):
    import shutil

    from ganlab.evaluation.evaluate import evaluate
    from ganlab.rundir import RunDir, write_best

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    kept = tmp_path / "kept"
    shutil.copytree(run_dir, kept)
    files = RunDir(kept)
    shutil.copy(files.generator, files.generator_best)  # as keep_best leaves it when the last check was the best
    record = {"metric": "fid", "key": "fid", "value": 3.5, "epoch": 1, "step": 8}
    write_best(kept, record)
    result = evaluate(kept, reg, n=20, log=lambda *_: None)
    assert result["best"] == record
    assert result["results"]["generator_best"] == result["results"]["generator"]


def test_quality_checks_with_the_ssl_extractor_on_unlabelled_data(reg, tmp_path, monkeypatch, capsys):
    from ganlab.callbacks.metrics_csv import read_rows
    from ganlab.training.run import train

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    recipe = toy_recipe(reg, {"name": "noise", "n": 200, "size": 16}, keep_best="kid")  # auto: no labels -> ssl
    run_dir = train(recipe, out=tmp_path / "run")
    assert "ssl extractor from 100 real images of noise" in capsys.readouterr().out
    rows = read_rows(run_dir / "metrics.csv")
    assert [bool(row["fid"]) and bool(row["kid_mean"]) for row in rows] == [True, True]
    assert all(row["classifier_score"] == "" and row["classes_covered"] == "" for row in rows)
    assert (run_dir / "generator_best.keras").is_file() and any((tmp_path / "cache").glob("ssl-*.keras"))


def test_images_made_elsewhere_are_scored_like_a_runs_samples(reg, run_dir, tmp_path, monkeypatch):
    from ganlab.evaluation.evaluate import evaluate_images
    from ganlab.evaluation.judge import split_real

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    data = toy_plugins.noise_images(n=400, size=28, classes=9)  # the run's data: real images as "samples"
    images, labels = split_real(data)[0]
    np.savez(tmp_path / "theirs.npz", images=images[:80], labels=labels[:80])
    result = evaluate_images(tmp_path / "theirs.npz", run_dir, reg, n=50, log=lambda *_: None)
    rows = result["results"]
    assert set(rows) == {"real_baseline", "theirs"} and result["images"] == str(tmp_path / "theirs.npz")
    assert rows["theirs"]["mean_class_accuracy"] > 0.9  # real images of known classes, labelled right
    noise = np.random.default_rng(0).random((60, 28, 28, 1))
    np.savez(tmp_path / "noise.npz", images=noise)
    far = evaluate_images(tmp_path / "noise.npz", run_dir, reg, log=lambda *_: None)
    assert far["n"] == 60 and far["results"]["noise"]["fid"] > 3 * rows["theirs"]["fid"]
    assert "mean_class_accuracy" not in far["results"]["noise"]  # no labels given
    stored = json.loads((tmp_path / "theirs.eval.json").read_text())[-1]
    assert stored["results"]["theirs"]["fid"] == rows["theirs"]["fid"]


@pytest.mark.parametrize(
    "arrays, n, message",
    [
        ({"images": np.zeros((20, 16, 16, 1), np.uint8)}, None, r"shape \(16, 16, 1\), but .* has \(28, 28, 1\)"),
        ({"images": np.full((20, 28, 28, 1), 2.0)}, None, "must be uint8 .* or finite floats in"),
        ({"pixels": np.zeros((20, 28, 28, 1), np.uint8)}, None, "expected an array 'images'.*found pixels"),
        ({"images": np.zeros((20, 28, 28, 1), np.uint8)}, 30, "-n 30: .* holds only 20 images"),
    ],
)
def test_images_that_cannot_be_scored_are_one_line(reg, run_dir, tmp_path, monkeypatch, arrays, n, message):
    from ganlab.evaluation.evaluate import evaluate_images

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(GanlabError, match=message) as raised:
        evaluate_images(tmp_path / "bad.npz", run_dir, reg, n=n, log=lambda *_: None)
    assert "\n" not in str(raised.value) and not (tmp_path / "bad.eval.json").exists()
