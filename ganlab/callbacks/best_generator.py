"""generator_best.keras: the generator of the best quality check so far (``output.keep_best``),
and stopping a run that has stopped improving (``training.early_stop``).

``KeepBest`` runs after ``QualityCheck`` (whose values it reads from the epoch's logs) and
before ``MetricsCSV`` (which writes its ``row``) and the ``Checkpointer`` (which saves its
``best``: a resume from any checkpoint restores the best as of that checkpoint, the
generator's variables included, and the count of checks without improvement).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np

from ganlab.errors import GanlabError
from ganlab.evaluation.metric_table import METRICS
from ganlab.recipe.schema import KEEP_BEST
from ganlab.rundir import RunDir, read_best, save_model, write_best
from ganlab.training import checkpoint

#: The metrics.csv columns ``KeepBest.row`` fills on the epochs with a quality check: the best value so
#: far of the kept metric, and the step of the generator generator_best.keras holds (the rows where it
#: equals ``step`` are the checks that improved).
COLUMNS = ("best_value", "best_step")


@dataclasses.dataclass
class Best:
    """The best quality check so far (``value`` None: none yet), the checks since it without
    improvement, and the sampling generator's variables at it."""

    value: float | None = None
    epoch: int = 0
    step: int = 0
    since: int = 0
    arrays: list | None = None

    def record(self) -> dict:
        return {"value": self.value, "epoch": self.epoch, "step": self.step, "since": self.since}

    @classmethod
    def from_checkpoint(cls, path) -> Best:
        """The best as of the checkpoint at ``path``; none for a checkpoint written without one."""
        found = checkpoint.read_best(path)
        if found is None:
            return cls()
        record, arrays = found
        try:
            value = None if record["value"] is None else float(record["value"])
            return cls(value, int(record["epoch"]), int(record["step"]), int(record["since"]), arrays)
        except (KeyError, TypeError, ValueError):
            raise GanlabError(f"{path} is damaged (its best record is {record!r}); delete it to resume from the one "
                              "before") from None

    def counters(self) -> tuple:
        """The record as whole numbers (the value as its float64 bits), for ``distribute.from_chief``."""
        bits = np.array(math.nan if self.value is None else self.value, np.float64).view(np.int64)
        return self.epoch, self.step, self.since, int(bits)

    @classmethod
    def from_counters(cls, epoch, step, since, bits, arrays=None) -> Best:
        value = float(np.array(bits, np.int64).view(np.float64))
        return cls(None if math.isnan(value) else value, epoch, step, since, arrays)


class KeepBest(keras.callbacks.Callback):
    """Save ``sampler`` (the generator samples are drawn from: the EMA one with training.ema) as
    generator_best.keras, and its record as best.json, after each quality check whose ``metric``
    (a ``KEEP_BEST`` name) beats every one before; stop training after ``patience`` checks in a
    row without improvement (None: never).

    ``quality`` is the run's ``QualityCheck``: its baseline says which metrics the extractor gives.
    ``best`` is the state to continue from (``Best.from_checkpoint`` on resume); at the start the
    files are made to match it, since those on disk may come from epochs being trained again.
    """

    def __init__(self, run_dir, metric, sampler, quality, patience=None, best=None, log=print):
        super().__init__()
        self.files = RunDir(run_dir)
        self.metric, (self.key, self.higher) = metric, KEEP_BEST[metric]
        self.sampler, self.quality, self.patience, self.log = sampler, quality, patience, log
        self.best = best or Best()
        self.row = {}  # COLUMNS of the epoch just ended; empty without a quality check
        self.stopped = False  # whether this callback stopped the run

    def on_train_begin(self, logs=None):
        if self.key not in self.quality.baseline:
            raise GanlabError(
                f"output.keep_best: {self.metric}: this run's extractor gives no {self.key} (only "
                f"{', '.join(self.quality.baseline)}); keep fid or kid"
            )
        self._match_files()

    def on_epoch_end(self, epoch, logs=None):
        self.row = {}
        value = (logs or {}).get(self.key)
        if value is None:
            return
        if self._improves(float(value)):
            step = int(self.model.g_optimizer.iterations.numpy())
            arrays = [np.array(v) for v in self.sampler.variables]
            self.best = Best(float(value), epoch + 1, step, 0, arrays)
            self._write()
        else:
            self.best.since += 1
        if self.best.value is not None:
            self.row = {"best_value": self.best.value, "best_step": self.best.step}
        if self.patience is not None and self.best.since >= self.patience:
            self.model.stop_training = self.stopped = True
            self.log(
                f"ganlab: early stop after epoch {epoch + 1}: {self.metric} has not improved on "
                f"{self.best.since} quality checks in a row (training.early_stop: {self.patience}); {self.describe()}"
            )

    def on_train_end(self, logs=None):
        if self.best.value is not None and not self.stopped:
            self.log(f"ganlab: {self.describe()}")

    def describe(self) -> str:
        if self.best.value is None:
            return f"no finite {self.metric} yet, no {self.files.generator_best.name}"
        shown = next(m.format for m in METRICS if m.key == self.key).format(self.best.value)
        return (
            f"{self.files.generator_best.name} is the best, {self.metric} {shown} "
            f"at epoch {self.best.epoch} (step {self.best.step})"
        )

    def checkpoint_state(self):
        """What ``checkpoint.save`` keeps as ``best``."""
        return self.best.record(), self.best.arrays or []

    def _improves(self, value) -> bool:
        if not math.isfinite(value):
            return False
        if self.best.value is None:
            return True
        return value > self.best.value if self.higher else value < self.best.value

    def _write(self):
        save_model(self.sampler, self.files.generator_best)
        write_best(self.files.root, {"metric": self.metric, "key": self.key, **self.best.record()})

    def _match_files(self):
        if self.best.value is None:
            for path in (self.files.best, self.files.generator_best):
                path.unlink(missing_ok=True)
            return
        try:
            on_disk = read_best(self.files.root)
        except GanlabError:
            on_disk = None
        wanted = {"epoch": self.best.epoch, "step": self.best.step}
        if on_disk and self.files.generator_best.is_file() and all(on_disk[k] == v for k, v in wanted.items()):
            return
        if not self.best.arrays:  # a worker given the chief's record writes no files of its own
            return
        variables = self.sampler.variables
        current = [np.array(v) for v in variables]
        for variable, value in zip(variables, self.best.arrays):
            variable.assign(value)
        try:
            self._write()
        finally:
            for variable, value in zip(variables, current):
                variable.assign(value)
