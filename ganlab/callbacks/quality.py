"""Quick sample-quality checks during training (``output.eval_every``).

Every N epochs G draws a fixed set of samples; ganlab's classifier scores them, and the
quick metrics (``metric_table.QUICK``: classifier score, classes covered, KL to uniform,
FID) go into the epoch's logs, so ``MetricsCSV`` records them and ``HealthCheck`` can warn
about mode collapse. The real-data baseline at the same count is printed once at the
start, because a FID value means something only beside it. The full set of metrics is
``ganlab eval``'s job.
"""

from __future__ import annotations

import keras

from ganlab.evaluation.metric_table import QUICK
from ganlab.evaluation.scores import quick_score

#: Samples per quick check: enough for a stable class histogram, cheap on a CPU.
QUICK_SAMPLES = 1000


class QualityCheck(keras.callbacks.Callback):
    """Score ``sample()`` (images in [0, 1]) with ``judge`` every ``every`` epochs and after ``final_epoch``."""

    def __init__(self, judge, sample, every: int, final_epoch: int, log=print):
        super().__init__()
        self.judge, self.sample, self.every, self.final_epoch = judge, sample, every, final_epoch
        self.n = min(QUICK_SAMPLES, judge.available)
        self.log = log

    def on_train_begin(self, logs=None):
        probs, features, _ = self.judge.held_out(self.n)
        base = quick_score(probs, features, self.judge.reference_features(self.n), self.judge.num_classes)
        self.log(
            f"ganlab: quality checks every {self.every} epochs on {self.n} samples; real baseline: "
            f"classifier score {base['classifier_score']:.3f}, {base['classes_covered']} classes, FID {base['fid']:.3f}"
        )

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if logs is None or not (done % self.every == 0 or done == self.final_epoch):
            return
        probs, features = self.judge.classify(self.sample(self.n))
        row = quick_score(probs, features, self.judge.reference_features(self.n), self.judge.num_classes)
        logs.update({key: row[key] for key in QUICK})
