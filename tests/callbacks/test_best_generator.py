"""KeepBest (output.keep_best, training.early_stop), QualityCheck with an extractor without classes,
quality.png and best.json, driven by hand with scripted values."""

import json
import math
from types import SimpleNamespace

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.callbacks.best_generator import Best, KeepBest
from ganlab.callbacks.metrics_csv import MetricsCSV, read_rows
from ganlab.callbacks.quality import QualityCheck
from ganlab.callbacks.quality_plot import plot_quality
from ganlab.rundir import RunDir, load_generator, read_best, write_best


class SslJudge:
    """What the ssl extractor's judge gives: FID and KID only."""

    available = 50

    def __init__(self, fids=()):
        self.fids = list(fids)

    def quick_baseline(self, n):
        return {"fid": 1.5, "kid_mean": 0.001, "kid_std": 0.0001}

    def quick_row(self, images):
        return {"fid": self.fids.pop(0), "kid_mean": 0.01, "kid_std": 0.001}


def sampler():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.layers[0].kernel.assign(np.zeros((2, 3)))
    return model


def keeper(tmp_path, metric, patience=None, best=None, baseline=None, net=None):
    quality = SimpleNamespace(baseline=baseline or {"fid": 1.0, "kid_mean": 0.0, "classifier_score": 9.0})
    cb = KeepBest(tmp_path, metric, net or sampler(), quality, patience, best, log=lambda line: lines.append(line))
    lines = cb.lines = []
    cb.set_model(SimpleNamespace(g_optimizer=SimpleNamespace(iterations=SimpleNamespace(numpy=lambda: 7)),
                                 stop_training=False))
    cb.on_train_begin()
    return cb


def test_score_is_kept_highest_and_a_nan_never_improves(tmp_path):
    cb = keeper(tmp_path, "score")
    saved = []
    for epoch, value in enumerate([2.0, math.nan, 5.0, 4.0]):
        cb.sampler.layers[0].kernel.assign(np.full((2, 3), float(epoch)))
        cb.on_epoch_end(epoch, {"classifier_score": value})
        saved.append(cb.row)
    assert saved == [{"best_value": 2.0, "best_step": 7}] * 2 + [{"best_value": 5.0, "best_step": 7}] * 2
    assert read_best(tmp_path) == {"metric": "score", "key": "classifier_score", "value": 5.0, "epoch": 3, "step": 7}
    kernel = load_generator(RunDir(tmp_path).generator_best).layers[0].kernel.numpy()
    assert np.array_equal(kernel, np.full((2, 3), 2.0))  # the weights of the epoch with the best score
    assert cb.best.since == 1 and not cb.model.stop_training


@pytest.mark.parametrize("patience", [1, 3])
def test_early_stop_at_exactly_the_patience(tmp_path, patience):
    cb = keeper(tmp_path, "kid", patience=patience)
    for epoch, value in enumerate([0.5, 0.2, 0.3, 0.25, 0.4, 0.1]):
        cb.on_epoch_end(epoch, {"kid_mean": value} if epoch < 6 else {})
        if cb.model.stop_training:
            break
    assert epoch == 1 + patience and cb.best.epoch == 2
    assert cb.lines == [
        f"ganlab: early stop after epoch {epoch + 1}: kid has not improved on {patience} quality checks in a row "
        f"(training.early_stop: {patience}); generator_best.keras is the best, kid 0.20000 at epoch 2 (step 7)"
    ]


def test_an_epoch_without_a_check_changes_nothing(tmp_path):
    cb = keeper(tmp_path, "fid", patience=1, best=Best(3.0, 2, 8, 0, None))
    cb.on_epoch_end(4, {"d_loss": 0.7})
    assert cb.row == {} and cb.best.since == 0 and not cb.model.stop_training


def test_keeping_a_metric_the_extractor_does_not_give_is_one_line(tmp_path):
    with pytest.raises(GanlabError, match=r"output.keep_best: score: this run's extractor gives no classifier_score "
                                          r"\(only fid, kid_mean\); keep fid or kid"):
        keeper(tmp_path, "score", baseline={"fid": 1.0, "kid_mean": 0.0})


def test_the_files_are_made_to_match_the_state_resumed_from(tmp_path):
    """On disk: a best from epochs being trained again. Resumed with none yet, they go; resumed with the best
    of epoch 3, its generator is written from the checkpoint's arrays and the sampler keeps its own weights."""
    files = RunDir(tmp_path)
    net = sampler()
    net.save(files.generator_best)
    write_best(tmp_path, {"metric": "fid", "key": "fid", "value": 1.0, "epoch": 9, "step": 36})
    keeper(tmp_path, "fid", net=net)
    assert not files.best.exists() and not files.generator_best.exists()

    net.save(files.generator_best)
    write_best(tmp_path, {"metric": "fid", "key": "fid", "value": 1.0, "epoch": 9, "step": 36})
    arrays = [np.full((2, 3), 4.0), np.full(3, 5.0)]
    keeper(tmp_path, "fid", best=Best(2.5, 3, 12, 1, arrays), net=net)
    assert read_best(tmp_path) == {"metric": "fid", "key": "fid", "value": 2.5, "epoch": 3, "step": 12}
    written = load_generator(files.generator_best).layers[0]
    assert np.array_equal(written.kernel.numpy(), arrays[0]) and np.array_equal(written.bias.numpy(), arrays[1])
    assert not net.layers[0].kernel.numpy().any()


@pytest.mark.parametrize("value", [None, 12.25, 1e-300])
def test_best_counters_round_trip(value):
    best = Best(value, 3 if value else 0, 12, 2)
    assert Best.from_counters(*best.counters()) == best


def test_quality_checks_of_an_extractor_without_classes(tmp_path, capsys):
    lines = []
    check = QualityCheck(SslJudge([4.0]), lambda n: np.zeros((n, 8, 8, 1)), every=2, final_epoch=3, log=lines.append)
    metrics = MetricsCSV(tmp_path)
    check.on_train_begin()
    metrics.on_train_begin()
    assert lines == ["ganlab: quality checks every 2 epochs on 50 samples; real baseline: FID 1.500, KID 0.00100"]
    for epoch in range(2):
        logs = {"d_loss": 0.5}
        check.on_epoch_end(epoch, logs)
        metrics.on_epoch_begin(epoch)
        metrics.on_epoch_end(epoch, logs)
    metrics.on_train_end()
    assert logs == {"d_loss": 0.5, "fid": 4.0, "kid_mean": 0.01}  # kid_std is not a column
    rows = read_rows(tmp_path / "metrics.csv")
    assert [row["fid"] for row in rows] == ["", "4"] and rows[1]["classifier_score"] == rows[1]["best_step"] == ""


def test_quality_plot_marks_the_best_and_needs_a_check(tmp_path):
    path = tmp_path / "quality.png"
    plot_quality([{"epoch": "1", "step": "4", "fid": ""}], path, {"fid": 1.0})
    assert not path.exists()
    rows = [
        {"epoch": "1", "step": "4", "fid": "5", "kid_mean": "0.1", "best_value": "5", "best_step": "4"},
        {"epoch": "2", "step": "8", "fid": "", "kid_mean": ""},
        {"epoch": "3", "step": "12", "fid": "3", "kid_mean": "0.05", "best_value": "3", "best_step": "12"},
    ]
    plot_quality(rows, path, {"fid": 1.0, "kid_mean": 0.0}, tracked="fid", title="run")
    two_panels = iio.imread(path)
    plot_quality(rows, path, {"fid": 1.0}, tracked="fid")
    assert two_panels.shape[0] > 500 and two_panels.std() > 0


@pytest.mark.parametrize("text", ["{", "[]", json.dumps({"metric": "fid"})])
def test_a_damaged_best_record_is_one_line(tmp_path, text):
    (tmp_path / "best.json").write_text(text)
    with pytest.raises(GanlabError, match=r"best.json is damaged .*delete it and generator_best.keras") as raised:
        read_best(tmp_path)
    assert "\n" not in str(raised.value)
    assert read_best(tmp_path / "elsewhere") is None
