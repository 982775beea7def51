"""Quick sample-quality checks during training (``output.eval_every``).

Every N epochs G draws a fixed set of samples; the run's judge (the extractor of
``output.extractor`` and the real reference images) scores them, and the quick metrics
(``metric_table.QUICK``, those the extractor can give) go into the epoch's logs, so
``MetricsCSV`` records them, ``KeepBest`` can keep the best generator and ``HealthCheck``
can warn about mode collapse. The real-data baseline at the same count is printed once at
the start and kept (``baseline``, drawn in quality.png), because a FID value means
something only beside it. The full set of metrics is ``ganlab eval``'s job.
"""

from __future__ import annotations

import keras

from ganlab.evaluation.metric_table import METRICS, QUICK

#: Samples per quick check: enough for a stable class histogram, cheap on a CPU.
QUICK_SAMPLES = 1000


class QualityCheck(keras.callbacks.Callback):
    """Score ``sample(n)`` (images in [0, 1]) with ``judge`` every ``every`` epochs and after ``final_epoch``."""

    def __init__(self, judge, sample, every: int, final_epoch: int, log=print):
        super().__init__()
        self.judge, self.sample, self.every, self.final_epoch = judge, sample, every, final_epoch
        self.n = min(QUICK_SAMPLES, judge.available)
        self.log = log
        self.baseline = {}  # the quick metrics of n held-out real images, once training begins

    def on_train_begin(self, logs=None):
        self.baseline = quick(self.judge.quick_baseline(self.n))
        base = self.baseline
        shown = ", ".join(f"{m.title} {m.format.format(base[m.key])}" for m in METRICS if m.key in base)
        self.log(f"ganlab: quality checks every {self.every} epochs on {self.n} samples; real baseline: {shown}")

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if logs is None or not (done % self.every == 0 or done == self.final_epoch):
            return
        logs.update(quick(self.judge.quick_row(self.sample(self.n))))


def quick(row) -> dict:
    """The ``QUICK`` metrics a judge's row holds (an extractor without classes gives no class metrics)."""
    return {key: row[key] for key in QUICK if key in row}
