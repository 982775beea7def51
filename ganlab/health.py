"""Warnings a person running headless needs: signs that a GAN run has gone wrong.

Each warning is one line on stderr and is also written to the ``health`` column of
metrics.csv (``MetricsCSV`` must come after ``HealthCheck`` in the callback list), so a
run can be judged without looking at its images.
"""

from __future__ import annotations

import sys

import keras


class HealthCheck(keras.callbacks.Callback):
    """Warn when D has won: accuracy near 100% on real and fake images for several epochs.

    Then D's loss is near zero, G's gradients carry little information, and the samples
    stop improving.
    """

    def __init__(self, threshold=0.99, patience=3, stream=None):
        super().__init__()
        self.threshold, self.patience = threshold, patience
        self.stream = stream or sys.stderr
        self.streak = 0

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        real, fake = logs.get("d_acc_real"), logs.get("d_acc_fake")
        dominant = real is not None and fake is not None and min(real, fake) >= self.threshold
        self.streak = self.streak + 1 if dominant else 0
        if self.streak >= self.patience:
            message = (
                f"D accuracy >= {self.threshold:.0%} on real and fake for {self.streak} epochs: "
                "D has won and G is not learning (try a lower D learning rate, label smoothing or fewer d_steps)"
            )
            logs["health"] = message
            print(f"ganlab: warning: epoch {epoch + 1}: {message}", file=self.stream, flush=True)
