"""Health warnings: one line on stderr and a note in metrics.csv when D has won."""

import csv
import io

from ganlab.callbacks import MetricsCSV
from ganlab.health import HealthCheck


def drive(tmp_path, accuracies):
    stream = io.StringIO()
    health, log = HealthCheck(patience=2, stream=stream), MetricsCSV(tmp_path)
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
