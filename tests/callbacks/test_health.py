"""Health warnings: one line on stderr and a note in metrics.csv when D has won."""

import csv
import io

from ganlab.callbacks.health import HealthCheck
from ganlab.callbacks.metrics_csv import MetricsCSV


def drive(tmp_path, accuracies):
    stream = io.StringIO()
    health = HealthCheck(patience=2, stream=stream)
    log = MetricsCSV(tmp_path, health=health)
    log.on_train_begin()
    for epoch, (real, fake) in enumerate(accuracies):
        logs = {"d_loss": 0.1, "g_loss": 3.0, "d_acc_real": real, "d_acc_fake": fake}
        log.on_epoch_begin(epoch)
        log.on_train_batch_end(0)
        health.on_epoch_end(epoch, logs)
        log.on_epoch_end(epoch, logs)
    log.on_train_end()
    with open(tmp_path / "metrics.csv", newline="") as f:
        return stream.getvalue(), [row["health"] for row in csv.DictReader(f)]


def test_dominant_discriminator_is_reported_after_patience(tmp_path):
    printed, column = drive(tmp_path, [(1.0, 1.0), (0.995, 1.0), (1.0, 0.999), (0.7, 0.6)])
    assert column[0] == "" and column[3] == ""
    assert column[1].startswith("D accuracy >= 99% on real and fake for 2 epochs") and "3 epochs" in column[2]
    lines = printed.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("ganlab: warning: epoch 2: D accuracy")


def test_a_balanced_run_is_quiet(tmp_path):
    printed, column = drive(tmp_path, [(1.0, 0.5), (0.6, 0.99), (0.99, 0.98)])
    assert printed == "" and column == ["", "", ""]


def drive_quality(checks, num_classes=10):
    """checks: per epoch (classes_covered, kl_to_uniform), or None for an epoch without a check."""
    stream = io.StringIO()
    health, column = HealthCheck(num_classes=num_classes, stream=stream), []
    for epoch, check in enumerate(checks):
        logs = {"d_acc_real": 0.7, "d_acc_fake": 0.6}
        if check is not None:
            logs["classes_covered"], logs["kl_to_uniform"] = check
        health.on_epoch_end(epoch, logs)
        column.append(health.message)
    return stream.getvalue(), column


def test_mode_collapse_is_reported_after_two_quality_checks_in_a_row():
    printed, column = drive_quality([(10, 0.01), (3, 1.2), None, (4, 0.9), (10, 0.02)])
    assert column[:3] == ["", "", ""] and column[4] == ""
    assert column[3].startswith(
        "samples cover 4 of 10 classes (KL to uniform 0.900) on 2 quality checks: mode collapse"
    )
    assert printed.strip().splitlines() == [f"ganlab: warning: epoch 4: {column[3]}"]


def test_a_skewed_histogram_counts_as_collapse_even_with_every_class_present():
    _, column = drive_quality([(10, 0.4), (10, 0.3)])
    assert "mode collapse" in column[1]


def test_without_quality_checks_there_is_no_collapse_warning():
    printed, column = drive_quality([None, None, None])
    assert printed == "" and column == ["", "", ""]
