"""losses.png: D and G loss, and D's accuracy, against epoch, drawn from metrics.csv; and the
figure helpers quality.png shares (``figure``, ``line_style``, ``save_figure``)."""

from __future__ import annotations

import keras
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ganlab.callbacks.metrics_csv import LOGGED, cell_float, read_rows, row_epoch
from ganlab.rundir import RunDir, atomic_path


class LossPlot(keras.callbacks.Callback):
    """Redraw ``losses.png`` from ``metrics.csv`` after every epoch.

    Top panel: D loss and G loss against epoch; bottom panel: D's accuracy on real and
    on generated images (0.5 dashed: D can't tell them apart). It runs after
    ``MetricsCSV`` (see ``defaults.py``), so the plot includes the epoch just ended.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.files = RunDir(run_dir)

    def on_epoch_end(self, epoch, logs=None):
        rows = read_rows(self.files.metrics)
        if rows:
            plot_losses(rows, self.files.losses, title=self.files.root.name)


def plot_losses(rows, path, title: str = "") -> None:
    """Draw the metrics.csv ``rows`` as the two-panel loss plot at ``path`` (PNG), atomically."""
    epochs = [row_epoch(row) for row in rows]
    series = {key: [cell_float(row.get(key)) for row in rows] for key in LOGGED}
    style = line_style(len(rows))

    fig, (loss_ax, acc_ax) = figure(2)
    loss_ax.plot(epochs, series["d_loss"], label="D loss", **style)
    loss_ax.plot(epochs, series["g_loss"], label="G loss", **style)
    loss_ax.set(title="Losses", ylabel="loss")
    acc_ax.plot(epochs, series["d_acc_real"], label="D accuracy on real", **style)
    acc_ax.plot(epochs, series["d_acc_fake"], label="D accuracy on fake", **style)
    acc_ax.axhline(0.5, linestyle="--", color="gray", linewidth=1)
    acc_ax.set(
        title="Discriminator accuracy", xlabel="epoch", ylabel="accuracy", ylim=(-0.02, 1.02),
        xlim=(epochs[0] - 0.5, epochs[-1] + 0.5),
    )
    acc_ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    save_figure(fig, (loss_ax, acc_ax), path, title)


def line_style(points: int) -> dict:
    """Markers on the points of a short series, a plain line for a long one."""
    return {"marker": "o", "markersize": 3} if points <= 30 else {}


def figure(panels: int):
    """(figure, axes): ``panels`` stacked panels sharing their x axis, drawn without a display."""
    fig = Figure(figsize=(7, 3 * panels), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0])


def save_figure(fig, axes, path, title: str = "") -> None:
    """Add legends, grids and ``title`` to the plot, and write it to ``path`` (PNG) atomically."""
    for ax in axes:
        ax.legend(loc="best")
        ax.grid(alpha=0.3)
    if title:  # a folder name that is not UTF-8 (surrogate escapes) shown with U+FFFD: fonts cannot draw it
        fig.suptitle(title.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
