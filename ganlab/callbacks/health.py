"""Warnings a person running headless needs: signs that a GAN run has gone wrong.

Each warning is one line on stderr and is also written to the ``health`` column of
metrics.csv (``MetricsCSV(health=...)`` reads ``HealthCheck.message``; ``defaults.py``
orders the two), so a run can be judged without looking at its images. The message is
not put into Keras' logs: the progress bar averages those.
"""

from __future__ import annotations

import sys

import keras


class HealthCheck(keras.callbacks.Callback):
    """Warn when a run has gone wrong in one of two ways GAN users know.

    D has won: accuracy near 100% on real and fake images for ``patience`` epochs. Then
    D's loss is near zero, G's gradients carry little information, and the samples stop
    improving.

    Mode collapse: on ``patience_collapse`` quality checks in a row (the values
    ``QualityCheck`` put into the epoch's logs) the generated class histogram misses classes
    (fewer than ``min_covered`` of ``num_classes`` with a 5% share) or is far from
    uniform (KL above ``max_kl``).
    """

    def __init__(self, threshold=0.99, patience=3, num_classes=None, max_kl=0.25, patience_collapse=2, stream=None):
        super().__init__()
        self.threshold, self.patience = threshold, patience
        self.num_classes, self.max_kl, self.patience_collapse = num_classes, max_kl, patience_collapse
        self.min_covered = None if num_classes is None else max(1, int(0.8 * num_classes))
        self.stream = stream or sys.stderr
        self.streak = self.collapse_streak = 0
        self.message = ""  # the warnings of the epoch just ended, joined by "; "

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        messages = [m for m in (self._d_has_won(logs), self._collapsed(logs)) if m]
        self.message = "; ".join(messages)
        for message in messages:
            print(f"ganlab: warning: epoch {epoch + 1}: {message}", file=self.stream, flush=True)

    def _d_has_won(self, logs):
        real, fake = logs.get("d_acc_real"), logs.get("d_acc_fake")
        dominant = real is not None and fake is not None and min(real, fake) >= self.threshold
        self.streak = self.streak + 1 if dominant else 0
        if self.streak >= self.patience:
            return (
                f"D accuracy >= {self.threshold:.0%} on real and fake for {self.streak} epochs: "
                "D has won and G is not learning (try a lower D learning rate, label smoothing or fewer d_steps)"
            )
        return None

    def _collapsed(self, logs):
        covered, kl = logs.get("classes_covered"), logs.get("kl_to_uniform")
        if covered is None or self.num_classes is None:
            return None  # no quality check this epoch: the streak carries over
        collapsed = covered < self.min_covered or kl > self.max_kl
        self.collapse_streak = self.collapse_streak + 1 if collapsed else 0
        if self.collapse_streak >= self.patience_collapse:
            return (
                f"samples cover {int(covered)} of {self.num_classes} classes (KL to uniform {kl:.3f}) "
                f"on {self.collapse_streak} quality checks: mode collapse (try a lower G learning rate, "
                "more d_steps, or another loss)"
            )
        return None
