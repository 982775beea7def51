"""quality.png: the quality checks' FID, KID and score against step, drawn from metrics.csv."""

from __future__ import annotations

import math

import keras

from ganlab.callbacks.loss_plot import figure, line_style, save_figure
from ganlab.callbacks.metrics_csv import cell_float, read_rows
from ganlab.evaluation.metric_table import METRICS
from ganlab.rundir import RunDir

#: The metrics drawn, one panel each, when the run's extractor gives them.
PLOTTED = ("fid", "kid_mean", "classifier_score")


class QualityPlot(keras.callbacks.Callback):
    """Redraw ``quality.png`` from ``metrics.csv`` after every epoch with a quality check.

    One panel per metric of ``PLOTTED`` the checks gave, against the step; the real
    baseline of ``quality`` (the run's ``QualityCheck``) dashed; with ``output.keep_best``
    (``tracked``: its metric's key) the best check so far, whose generator
    generator_best.keras holds, marked with a star. It runs after ``MetricsCSV``.
    """

    def __init__(self, run_dir, quality, tracked=None):
        super().__init__()
        self.files, self.quality, self.tracked = RunDir(run_dir), quality, tracked

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and any(key in logs for key in PLOTTED):
            plot_quality(read_rows(self.files.metrics), self.files.quality, self.quality.baseline, self.tracked,
                         title=self.files.root.name)


def plot_quality(rows, path, baseline, tracked=None, title: str = "") -> None:
    """Draw the quality checks of the metrics.csv ``rows`` at ``path`` (PNG), atomically; nothing without any."""
    steps = [cell_float(row.get("step")) for row in rows]
    series = {key: [cell_float(row.get(key)) for row in rows] for key in PLOTTED}
    drawn = [m for m in METRICS if m.key in PLOTTED and any(math.isfinite(v) for v in series[m.key])]
    if not drawn:
        return
    fig, axes = figure(len(drawn))
    for ax, metric in zip(axes, drawn):
        points = [(s, v) for s, v in zip(steps, series[metric.key]) if math.isfinite(v)]
        ax.plot(*zip(*points), label=f"{metric.title} of samples", **line_style(len(points)))
        if metric.key in baseline:
            ax.axhline(baseline[metric.key], linestyle="--", color="gray", linewidth=1, label="real baseline")
        best = _best(rows) if metric.key == tracked else None
        if best is not None:
            ax.plot(*best, marker="*", markersize=14, linestyle="none", color="tab:red", label="best (kept)")
        ax.set(title=metric.title, ylabel=metric.title)
    axes[-1].set(xlabel="step")
    save_figure(fig, axes, path, title)


def _best(rows):
    """(step, value) of the best check as the newest row records it, or None."""
    for row in reversed(rows):
        step, value = cell_float(row.get("best_step")), cell_float(row.get("best_value"))
        if math.isfinite(step) and math.isfinite(value):
            return step, value
    return None
