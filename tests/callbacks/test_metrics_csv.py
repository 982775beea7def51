"""metrics.csv: its rows and columns, resumes, and the callbacks that fill a run directory under a real ``fit``."""

import csv
import math

import imageio.v3 as iio
import keras
import numpy as np

from ganlab.callbacks.loss_plot import LossPlot
from ganlab.callbacks.metrics_csv import COLUMNS, MetricsCSV, read_rows
from ganlab.callbacks.sample_grids import SampleGrids
from tests.helpers import Generate

LOGS = {"d_loss": 0.693147182, "g_loss": 1.25, "d_acc_real": 0.5, "d_acc_fake": 0.75}


def run_epochs(cb, epochs, batches=4, logs=LOGS):
    """Drive a MetricsCSV through ``epochs`` (0-based) as fit would, one batch per call."""
    cb.on_train_begin()
    for epoch in epochs:
        cb.on_epoch_begin(epoch)
        for batch in range(batches):
            cb.on_train_batch_end(batch)
        cb.on_epoch_end(epoch, logs)
    cb.on_train_end()


def read_csv(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.reader(f))


def test_metrics_rows_and_columns(tmp_path):
    run_epochs(MetricsCSV(tmp_path), range(3))
    header, *rows = read_csv(tmp_path)
    assert tuple(header) == COLUMNS
    assert [r[:6] for r in rows] == [[str(e), str(4 * e), "0.693147", "1.25", "0.5", "0.75"] for e in (1, 2, 3)]
    seconds = np.array([[float(r[6]), float(r[7])] for r in rows])
    assert (seconds >= 0).all()
    assert np.all(np.diff(seconds[:, 1]) >= 0) and seconds[-1, 1] >= seconds[:, 0].sum()


def test_missing_log_keys_are_empty_cells(tmp_path):
    run_epochs(MetricsCSV(tmp_path), range(1), logs={"d_loss": 1.0})
    assert read_csv(tmp_path)[1][2:6] == ["1", "", "", ""]


def test_steps_per_execution_and_an_early_stop(tmp_path):
    cb = MetricsCSV(tmp_path, initial_step=100)
    cb.on_train_begin()
    for epoch, last_batches in enumerate([(1, 3, 5), (1,)]):  # 3 executions of 2 steps, then stopped after 1
        cb.on_epoch_begin(epoch)
        for batch in last_batches:
            cb.on_train_batch_end(batch)
        cb.on_epoch_end(epoch, LOGS)
    cb.on_train_end()
    assert [r[1] for r in read_csv(tmp_path)[1:]] == ["106", "108"]


def test_resume_drops_rows_after_the_checkpoint_and_continues_elapsed(tmp_path):
    run_epochs(MetricsCSV(tmp_path), range(5))
    before = read_csv(tmp_path)
    with open(tmp_path / "metrics.csv", "a") as f:
        f.write("6,24,0.69")  # a row cut short by a crash
    elapsed_at_3 = float(before[3][7])

    run_epochs(MetricsCSV(tmp_path, initial_epoch=3, initial_step=12), range(3, 6), logs={**LOGS, "g_loss": 9.0})
    header, *rows = read_csv(tmp_path)
    assert tuple(header) == COLUMNS
    assert rows[:3] == before[1:4]  # kept exactly as written
    assert [(r[0], r[1], r[3]) for r in rows[3:]] == [("4", "16", "9"), ("5", "20", "9"), ("6", "24", "9")]
    assert float(rows[3][7]) >= elapsed_at_3 + float(rows[3][6])
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_resume_without_a_metrics_file_starts_one(tmp_path):
    run_epochs(MetricsCSV(tmp_path, initial_epoch=2, initial_step=8), range(2, 3))
    assert [r[:2] for r in read_csv(tmp_path)] == [list(COLUMNS[:2]), ["3", "12"]]


def test_fresh_run_replaces_an_old_metrics_file(tmp_path):
    run_epochs(MetricsCSV(tmp_path), range(4))
    run_epochs(MetricsCSV(tmp_path), range(1))
    assert len(read_csv(tmp_path)) == 2


def test_each_row_is_on_disk_before_training_ends(tmp_path):
    cb = MetricsCSV(tmp_path)
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, LOGS)
    assert len(read_rows(tmp_path / "metrics.csv")) == 1
    cb.on_train_end()


def test_under_a_real_fit(tmp_path):
    """5 steps per epoch in executions of 2: Keras runs 3 executions (6 steps) per epoch on an endless stream."""
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=2)
    x = np.random.default_rng(0).random((40, 3), np.float32)
    stream = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(4).repeat()
    callbacks = [MetricsCSV(tmp_path), LossPlot(tmp_path), SampleGrids(tmp_path, Generate())]
    model.fit(stream, epochs=2, steps_per_epoch=5, callbacks=callbacks, shuffle=False, verbose=0)

    rows = read_rows(tmp_path / "metrics.csv")
    assert [(row["epoch"], int(row["step"])) for row in rows] == [("1", 6), ("2", 12)]
    assert int(rows[-1]["step"]) == int(model.optimizer.iterations.numpy())
    assert all(row["d_loss"] == "" for row in rows)  # a plain model logs "loss" only
    assert math.isfinite(float(rows[-1]["elapsed_seconds"]))
    assert iio.imread(tmp_path / "progress.gif", index=None).shape[0] == 2
    assert (tmp_path / "losses.png").exists()
