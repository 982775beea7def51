"""Writing checkpoints during training (the file format is ``ganlab.training.checkpoint``'s)."""

from __future__ import annotations

import keras

from ganlab.training import checkpoint


class Checkpointer(keras.callbacks.Callback):
    """Save a checkpoint every ``every`` epochs and after the last one; never a NaN state.

    ``nan_stop`` is the run's ``NaNStop``: once it has seen a bad step nothing is saved,
    so the newest checkpoint stays the last good state; nor is a state whose variables
    hold NaN or infinite values (``checkpoint.save`` warns instead). ``recipe`` is the
    run's ``recipe_change.record``, kept in every checkpoint's metadata so that a resume can
    name what was changed; ``best`` the run's ``KeepBest`` (``output.keep_best``), whose state
    every checkpoint keeps.
    """

    def __init__(self, run_dir, every, final_epoch, nan_stop, recipe=None, best=None):
        super().__init__()
        self.run_dir, self.every, self.final_epoch, self.nan_stop = run_dir, every, final_epoch, nan_stop
        self.last = None
        self.recipe, self.best = recipe, best

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_stop.bad_step is not None:
            return
        done = epoch + 1
        if done % self.every == 0 or done == self.final_epoch or self.model.stop_training:
            step = int(self.model.g_optimizer.iterations.numpy())
            best = self.best.checkpoint_state() if self.best else None
            saved = checkpoint.save(self.model, self.run_dir, done, step, recipe=self.recipe, best=best)
            self.last = saved or self.last
