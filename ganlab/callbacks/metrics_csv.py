"""metrics.csv: one row per epoch of losses, D accuracies, wall time, quality checks, the best
check so far, ADA's augmentation probability and health warnings, and reading it back (``read_rows``)."""

from __future__ import annotations

import csv
import math
import time

import keras

from ganlab.callbacks.best_generator import COLUMNS as BEST_COLUMNS  # the best value so far and its step
from ganlab.evaluation.metric_table import QUICK
from ganlab.rundir import RunDir, atomic_path

#: Columns of metrics.csv filled from the epoch's logs, in order.
LOGGED = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")
#: Columns filled by ``QualityCheck`` on the epochs it evaluates; empty otherwise.
QUALITY = QUICK
#: Columns filled by ``DValidation`` when ``training.d_validation`` holds real images out.
VALIDATION = ("d_acc_train_real", "d_acc_val_real")
#: The columns of metrics.csv, in order; ``ada_p`` is ADA's p at the epoch's end (empty without ADA).
COLUMNS = (
    "epoch", "step", *LOGGED, "epoch_seconds", "elapsed_seconds", *QUALITY, *BEST_COLUMNS, *VALIDATION, "ada_p",
    "health",
)


class MetricsCSV(keras.callbacks.Callback):
    """Append one row per epoch to ``metrics.csv`` (columns: ``COLUMNS``), flushed at once.

    ``step`` counts train steps (G updates) from ``initial_step``; ``epoch_seconds`` is
    the epoch's wall time and ``elapsed_seconds`` the training wall time so far,
    continued across resumes. On resume (``initial_epoch`` > 0) rows after
    ``initial_epoch`` belong to epochs whose checkpoint was lost: they are dropped
    (the kept rows are rewritten atomically) and training appends after them. The
    ``health`` column is ``health.message`` (a ``HealthCheck``) of the epoch, the
    ``BEST_COLUMNS`` are ``best.row`` (a ``KeepBest``).
    """

    def __init__(self, run_dir, initial_epoch: int = 0, initial_step: int = 0, health=None, best=None):
        super().__init__()
        self.path = RunDir(run_dir).metrics
        self.initial_epoch, self.step = initial_epoch, initial_step
        self.health, self.best = health, best

    def on_train_begin(self, logs=None):
        kept = []
        if self.initial_epoch:
            kept = [row for row in read_rows(self.path) if row_epoch(row) <= self.initial_epoch]
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
        self.elapsed_before = cell_float(kept[-1].get("elapsed_seconds")) if kept else 0.0
        self.train_start = time.perf_counter()
        self.file = open(self.path, "a", newline="")
        self.writer = csv.writer(self.file)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        # With steps_per_execution > 1 Keras calls this once per execution, with the
        # index of the execution's last step.
        self.batches = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        now = time.perf_counter()
        self.step += self.batches
        values = [logs.get(key) for key in LOGGED]
        values += [now - self.epoch_start, self.elapsed_before + now - self.train_start]
        values += [logs.get(key) for key in QUALITY]
        values += [self.best.row.get(key) if self.best else None for key in BEST_COLUMNS]
        values += [logs.get(key) for key in VALIDATION]
        ada = getattr(self.model, "ada", None)  # ganlab.training.ada's state, with training.ada_target
        values += [None if ada is None else ada.p.numpy()]
        self.writer.writerow([epoch + 1, self.step, *map(_cell, values), self.health.message if self.health else ""])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


def read_rows(path) -> list[dict]:
    """The rows of a metrics.csv as dicts of strings; none if the file is missing.

    Rows whose epoch cell is not a number (a line cut short by a crash) are left out.
    """
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        return []
    return [row for row in rows if row_epoch(row) is not None]


def row_epoch(row):
    """The epoch of a metrics.csv row; None if its cell is not a number."""
    try:
        return int(row.get("epoch") or "")
    except ValueError:
        return None


def cell_float(text) -> float:
    """A metrics.csv cell as a float; an empty or missing cell is NaN (a gap in a plot)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _cell(value) -> str:
    if isinstance(value, int):  # a step: every digit
        return str(value)
    return "" if value is None else f"{float(value):.6g}"
