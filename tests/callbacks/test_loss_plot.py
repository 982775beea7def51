"""losses.png, drawn from the rows MetricsCSV writes."""

import imageio.v3 as iio
import pytest

from ganlab.callbacks.loss_plot import LossPlot, plot_losses
from ganlab.callbacks.metrics_csv import MetricsCSV


@pytest.mark.parametrize("epochs", [1, 5])
def test_loss_plot(tmp_path, epochs):
    metrics, plot = MetricsCSV(tmp_path), LossPlot(tmp_path)
    metrics.on_train_begin()
    for epoch in range(epochs):
        metrics.on_epoch_begin(epoch)
        logs = {
            "d_loss": 0.7 - 0.1 * epoch, "g_loss": 0.7 + 0.2 * epoch, "d_acc_real": 0.5 + 0.1 * epoch, "d_acc_fake": 0.6
        }
        metrics.on_epoch_end(epoch, logs)
        plot.on_epoch_end(epoch)
    metrics.on_train_end()
    image = iio.imread(tmp_path / "losses.png")
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 300
    assert image.std() > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["losses.png", "metrics.csv"]


def test_loss_plot_without_metrics_draws_nothing(tmp_path):
    LossPlot(tmp_path).on_epoch_end(0)
    assert not (tmp_path / "losses.png").exists()


def test_a_run_folder_whose_name_is_not_utf8_gets_its_plot(tmp_path):
    """``--out $'\\xfdrun'``: Python names the folder with a surrogate escape, which no font can draw."""
    run_dir = tmp_path / "\udcfdrun"  # the bytes b"\xfdrun"
    run_dir.mkdir()
    plot_losses([{"epoch": "1", "d_loss": "0.7", "g_loss": "0.7", "d_acc_real": "0.5", "d_acc_fake": "0.5"}],
                run_dir / "losses.png", title=run_dir.name)
    assert iio.imread(run_dir / "losses.png").std() > 0
