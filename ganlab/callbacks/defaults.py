"""The callbacks of a run, built in one place and in the one order they must run in.

Keras calls callbacks in list order at every hook, so the order carries meaning:

1. ``NaNStop`` first, so that a diverged step stops everything else at once.
2. ``StandingStatistics`` (with EMA): refreshes the EMA generator's batch-norm statistics
   before anything below draws from it.
3. ``StepLimit`` (``training.steps``).
4. ``DValidation`` and ``QualityCheck``: add their values to the epoch's logs ...
5. ... which ``KeepBest`` (``output.keep_best``) reads to keep the best generator and to stop
   early (before the writers below, so that a stopped run's last epoch is written as a final
   one), ``HealthCheck`` reads for its warnings, and ``MetricsCSV`` writes, with the health
   message and the best so far, as the epoch's row.
6. ``SampleGrids``, then ``LossPlot`` and ``QualityPlot`` (they read the row ``MetricsCSV``
   just wrote), then ``Checkpointer`` (last of the writers, so a checkpoint's epoch has its
   files; it keeps ``KeepBest``'s state).
7. ``TensorBoardLog`` (``output.tensorboard``): the logs and the grid just written.
"""

from __future__ import annotations

from ganlab.callbacks.best_generator import KeepBest
from ganlab.callbacks.checkpointer import Checkpointer
from ganlab.callbacks.d_validation import DValidation
from ganlab.callbacks.health import HealthCheck
from ganlab.callbacks.loss_plot import LossPlot
from ganlab.callbacks.metrics_csv import MetricsCSV
from ganlab.callbacks.quality import QualityCheck
from ganlab.callbacks.quality_plot import QualityPlot
from ganlab.callbacks.sample_grids import SampleGrids
from ganlab.callbacks.standing_statistics import StandingStatistics, sample_count
from ganlab.callbacks.stopping import NaNStop, StepLimit
from ganlab.callbacks.tensorboard_log import TensorBoardLog
from ganlab.sampling import cycling_labels, draw, fixed_z, grid_inputs, to_unit
from ganlab.training import recipe_change


def default_callbacks(
    recipe, model, run_dir, epochs, initial_epoch, initial_step, classes=None, judge=None, validation=None, best=None
):
    """``(callbacks, nan_stop)`` for training ``model`` on ``recipe`` into ``run_dir``.

    ``epochs`` is the run's last epoch and ``initial_epoch``/``initial_step`` where this
    fit starts; ``classes`` the class count of a conditional GAN; ``judge`` (a
    ``ganlab.evaluation.judge.Judge``) turns on quality checks; ``validation`` is
    ``(training images, held-out images, (training labels, held-out labels))`` for
    ``training.d_validation``; ``best`` the ``best_generator.Best`` to continue from (resume).
    ``nan_stop.bad_step`` tells the caller whether training diverged.
    """
    t, out = recipe["training"], recipe["output"]
    output_range = getattr(model.generator, "output_range", (-1.0, 1.0))

    def labels_for(n):  # a conditional G draws every class in turn
        return None if classes is None else cycling_labels(n, classes)

    nan_stop = NaNStop()
    callbacks = [nan_stop]
    if model.ema_generator is not None:
        n = sample_count(t["batch_size"])
        z = fixed_z(t["latent_dim"], n, t["noise"], t["seed"] + 2)  # seed: grids, seed + 1: quality checks
        callbacks.append(StandingStatistics(model.ema_generator, z, t["batch_size"], labels_for(n)))
    if t["steps"] is not None:
        callbacks.append(StepLimit(t["steps"]))
    if validation is not None:
        images, held_out, labels = validation
        threshold = model.adversarial_loss.threshold
        callbacks.append(DValidation(model.discriminator, images, held_out, output_range, threshold, labels))
    quality = keep = None
    if judge is not None:
        def sample(n):
            seed = t["seed"] + 1
            return draw(model.sampler, n, t["latent_dim"], t["noise"], output_range, seed, labels=labels_for(n))

        quality = QualityCheck(judge, sample, out["eval_every"], epochs)
        callbacks.append(quality)
        if out["keep_best"] is not None:
            keep = KeepBest(run_dir, out["keep_best"], model.sampler, quality, t["early_stop"], best)
            callbacks.append(keep)
    health = HealthCheck(num_classes=judge.data_classes if judge else None)
    grid_z, grid_cols = grid_inputs(t["latent_dim"], out["grid"], t["noise"], t["seed"], classes)
    callbacks += [
        health,
        MetricsCSV(run_dir, initial_epoch=initial_epoch, initial_step=initial_step, health=health, best=keep),
        SampleGrids(
            run_dir, lambda: to_unit(model.sampler(grid_z, training=False), output_range), every=out["sample_every"],
            final_epoch=epochs, initial_epoch=initial_epoch, cols=grid_cols, stopper=keep,
        ),
        LossPlot(run_dir),
    ]
    if quality is not None:
        callbacks.append(QualityPlot(run_dir, quality, keep.key if keep else None))
    record = recipe_change.record(recipe)
    callbacks.append(Checkpointer(run_dir, out["checkpoint_every"], epochs, nan_stop, recipe=record, best=keep))
    if out["tensorboard"]:
        callbacks.append(TensorBoardLog(run_dir))
    return callbacks, nan_stop
