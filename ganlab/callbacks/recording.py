"""Keras callbacks that write what a person wants to look at into a run directory.

Files they write, relative to the run directory:

    samples/epoch_NNNN.png  G(z) for one fixed z after epoch NNNN (1-based)   SampleGrids
    progress.gif            all those grids in epoch order, looping           SampleGrids
    metrics.csv             one row per epoch: step, losses, D accuracies,    MetricsCSV
                            wall time, quick quality metrics (when
                            output.eval_every is on), health warnings
    losses.png              D and G loss, and D accuracy, against epoch       LossPlot

    tensorboard/            the epoch logs and sample grids, for TensorBoard  TensorBoardLog
                            (with output.tensorboard: true)

``DValidation`` adds D's accuracy on held-out real images to the epoch's logs.

Every file is replaced atomically (see ``ganlab.images.atomic_path``), except that
metrics.csv is appended to, one flushed row per epoch.
"""

from __future__ import annotations

import csv
import math
import re
import time
from pathlib import Path

import keras
import numpy as np

from ganlab.images import atomic_path, save_png, write_gif

#: Columns of metrics.csv filled from the epoch's logs, in order.
LOGGED = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")
#: Columns filled by ``QualityCheck`` on the epochs it evaluates; empty otherwise.
QUALITY = ("classifier_score", "classes_covered", "kl_to_uniform", "fid")
#: Columns filled by ``DValidation`` when ``training.d_validation`` holds real images out.
VALIDATION = ("d_acc_train_real", "d_acc_val_real")
#: The columns of metrics.csv, in order.
COLUMNS = ("epoch", "step", *LOGGED, "epoch_seconds", "elapsed_seconds", *QUALITY, *VALIDATION, "health")
#: Images of each part ``DValidation`` judges: enough for a two-digit accuracy, cheap.
VALIDATION_IMAGES = 1000

_SAMPLE_NAME = re.compile(r"epoch_(\d+)\.png")


class SampleGrids(keras.callbacks.Callback):
    """Write ``samples/epoch_NNNN.png`` every ``every`` epochs, and ``progress.gif`` at the end.

    ``generate()`` returns float images in [0, 1], shape (n, h, w, c), for a z the
    caller keeps fixed, so the grids show one set of samples changing over training.
    The grid is also written after ``final_epoch``. The GIF is rebuilt from every
    ``samples/epoch_*.png`` there is, so a resumed run's GIF starts at epoch 1; grids
    after ``initial_epoch`` belong to epochs being trained again and are removed.
    ``cols`` fixes the grid's width (a conditional G's grid has one row per class).
    """

    def __init__(self, run_dir, generate, every: int = 1, final_epoch: int | None = None, initial_epoch: int = 0, cols: int | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.generate, self.every, self.final_epoch, self.cols = generate, every, final_epoch, cols
        for path in sample_paths(self.run_dir):
            if int(_SAMPLE_NAME.fullmatch(path.name).group(1)) > initial_epoch:
                path.unlink()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every == 0 or done == self.final_epoch:
            save_png(self.run_dir / "samples" / f"epoch_{done:04d}.png", self.generate(), self.cols)

    def on_train_end(self, logs=None):
        frames = sample_paths(self.run_dir)
        if frames:
            write_gif(frames, self.run_dir / "progress.gif")


class TensorBoardLog(keras.callbacks.Callback):
    """Write each epoch's numeric logs and its sample grid to ``tensorboard/`` (``output.tensorboard``).

    Placed after the callbacks that add to the logs (quality checks, D validation), so
    TensorBoard shows what ``metrics.csv`` holds; the grid is the PNG ``SampleGrids`` just
    wrote for the epoch, so G is not run twice. Steps on TensorBoard's axis are epochs.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))

    def on_epoch_end(self, epoch, logs=None):
        import imageio.v3 as iio
        import tensorflow as tf

        done = epoch + 1
        grid = self.run_dir / "samples" / f"epoch_{done:04d}.png"
        with self.writer.as_default(step=done):
            for key, value in (logs or {}).items():
                if isinstance(value, (int, float)) or getattr(value, "shape", None) == ():
                    tf.summary.scalar(key, float(value))
            if grid.is_file():
                image = iio.imread(grid)
                tf.summary.image("samples", (image if image.ndim == 3 else image[..., None])[None])
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()


def sample_paths(run_dir) -> list[Path]:
    """The run's ``samples/epoch_NNNN.png`` files, in epoch order."""
    found = []
    for path in (Path(run_dir) / "samples").glob("epoch_*.png"):
        match = _SAMPLE_NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


class MetricsCSV(keras.callbacks.Callback):
    """Append one row per epoch to ``metrics.csv`` (columns: ``COLUMNS``), flushed at once.

    ``step`` counts train steps (G updates) from ``initial_step``; ``epoch_seconds`` is
    the epoch's wall time and ``elapsed_seconds`` the training wall time so far,
    continued across resumes. On resume (``initial_epoch`` > 0) rows after
    ``initial_epoch`` belong to epochs whose checkpoint was lost: they are dropped
    (the kept rows are rewritten atomically) and training appends after them.
    """

    def __init__(self, run_dir, initial_epoch: int = 0, initial_step: int = 0, health=None):
        super().__init__()
        self.path = Path(run_dir) / "metrics.csv"
        self.initial_epoch, self.step = initial_epoch, initial_step
        self.health = health  # a HealthCheck whose message fills the health column

    def on_train_begin(self, logs=None):
        kept = [row for row in read_rows(self.path) if _epoch(row) <= self.initial_epoch] if self.initial_epoch else []
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
        self.elapsed_before = _float(kept[-1].get("elapsed_seconds")) if kept else 0.0
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
        values += [logs.get(key) for key in (*QUALITY, *VALIDATION)]
        self.writer.writerow([epoch + 1, self.step, *map(_cell, values), self.health.message if self.health else ""])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


class DValidation(keras.callbacks.Callback):
    """D's accuracy on real images held out of training, beside real images it trains on.

    After each epoch D judges (in inference mode) the same number of images from each
    part. Accuracy on the training images far above the held-out ones means D is
    memorising its training set: D overfitting, a common way GANs on small datasets fail.
    ``labels`` are the two parts' labels, ``(training, held out)``, for a conditional D
    (which judges each image with its label); ``(None, None)`` otherwise.
    """

    def __init__(self, discriminator, training_images, held_out_images, output_range, threshold, labels=(None, None)):
        super().__init__()
        from ganlab.training.stream import scale_images

        k = min(VALIDATION_IMAGES, len(training_images), len(held_out_images))
        self.parts = {}
        for key, images, part_labels in (("d_acc_train_real", training_images, labels[0]), ("d_acc_val_real", held_out_images, labels[1])):
            scaled = scale_images(np.asarray(images[:k]), output_range)
            self.parts[key] = scaled if part_labels is None else [np.asarray(scaled), np.asarray(part_labels[:k], np.int32)]
        self.discriminator, self.threshold = discriminator, threshold

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for key, images in self.parts.items():
            logits = np.asarray(self.discriminator.predict(images, batch_size=250, verbose=0), np.float32)
            logs[key] = float(np.mean(logits > self.threshold))


def read_rows(path) -> list[dict]:
    """The rows of a metrics.csv as dicts of strings; none if the file is missing.

    Rows whose epoch cell is not a number (a line cut short by a crash) are left out.
    """
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        return []
    return [row for row in rows if _epoch(row) is not None]


class LossPlot(keras.callbacks.Callback):
    """Redraw ``losses.png`` from ``metrics.csv`` after every epoch.

    Top panel: D loss and G loss against epoch; bottom panel: D's accuracy on real and
    on generated images (0.5 dashed: D can't tell them apart). Put it after
    ``MetricsCSV`` in the callback list so the plot includes the epoch just ended.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch, logs=None):
        rows = read_rows(self.run_dir / "metrics.csv")
        if rows:
            plot_losses(rows, self.run_dir / "losses.png", title=self.run_dir.name)


def plot_losses(rows, path, title: str = "") -> None:
    """Draw the metrics.csv ``rows`` as the two-panel loss plot at ``path`` (PNG), atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [_epoch(row) for row in rows]
    series = {key: [_float(row.get(key)) for row in rows] for key in LOGGED}
    style = {"marker": "o", "markersize": 3} if len(rows) <= 30 else {}

    fig = Figure(figsize=(7, 6), layout="constrained")
    FigureCanvasAgg(fig)
    loss_ax, acc_ax = fig.subplots(2, 1, sharex=True)
    loss_ax.plot(epochs, series["d_loss"], label="D loss", **style)
    loss_ax.plot(epochs, series["g_loss"], label="G loss", **style)
    loss_ax.set(title="Losses", ylabel="loss")
    acc_ax.plot(epochs, series["d_acc_real"], label="D accuracy on real", **style)
    acc_ax.plot(epochs, series["d_acc_fake"], label="D accuracy on fake", **style)
    acc_ax.axhline(0.5, linestyle="--", color="gray", linewidth=1)
    acc_ax.set(title="Discriminator accuracy", xlabel="epoch", ylabel="accuracy", ylim=(-0.02, 1.02), xlim=(epochs[0] - 0.5, epochs[-1] + 0.5))
    acc_ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    for ax in (loss_ax, acc_ax):
        ax.legend(loc="best")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def _epoch(row):
    try:
        return int(row.get("epoch") or "")
    except ValueError:
        return None


def _float(text) -> float:
    """A metrics.csv cell as a float; an empty or missing cell is NaN (a gap in a plot)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _cell(value) -> str:
    return "" if value is None else f"{float(value):.6g}"
