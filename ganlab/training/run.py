"""``ganlab run``: train a recipe in a new run directory, or continue one, as orchestration only.

Assembling the model is ``ganlab.training.assemble``'s job, the callbacks that fill the run
directory are ``ganlab.callbacks``', and the directory itself is ``ganlab.rundir``'s.
"""

from __future__ import annotations

import contextlib
import math
import sys
from pathlib import Path

import keras
import numpy as np

from ganlab.callbacks.best_generator import Best
from ganlab.callbacks.defaults import default_callbacks
from ganlab.components.blame import blame
from ganlab.components.loading import load_registry
from ganlab.errors import GanlabError, TrainingDiverged
from ganlab.evaluation.judge import Judge
from ganlab.images import save_png
from ganlab.model_card import write_model_card
from ganlab.recipe.validate import load_recipe
from ganlab.rundir import RunDir, read_stored_recipe, remove_leftovers, save_model, write_recipe
from ganlab.runlock import acquire, new_run_dir, release_new
from ganlab.training import auto_config, checkpoint, distribute
from ganlab.training.assemble import build_model, load_data, num_classes
from ganlab.training.recipe_change import MAY_CHANGE, changed_keys, check_record
from ganlab.training.stream import epoch_steps, hold_out, real_stream


def train(recipe, out=None) -> Path:
    """Train a validated recipe in a new run directory; returns the directory.

    Under ``distribute.strategy: multi_worker`` every worker runs this with the same
    ``out``. The chief writes the run directory; a directory that already holds this
    recipe's run is continued from its last checkpoint, so that a cluster restarted
    after a failure (the same command on every worker) picks up where it was.
    """
    task = distribute.check(recipe["distribute"])
    if task is not None and out is None:
        raise GanlabError(
            "distribute.strategy multi_worker: give --out RUN_DIR, the same on every worker, "
            "so that a restarted cluster finds its checkpoints"
        )
    placement = distribute.place(recipe["distribute"])
    data = load_data(recipe)
    recipe, note = _decided(recipe, data)
    resume_from = lock = None
    made_here = False
    if not placement.is_chief:
        run_dir = Path(out)
    elif task is not None and RunDir(out).recipe.is_file():
        lock = acquire(out, f"--out {out}", "choose another folder with --out")
        run_dir, resume_from = Path(out), _restart_point(recipe, Path(out))
    else:
        fresh = out is None or not Path(out).exists()
        lock = new_run_dir(recipe, out)
        run_dir, made_here = lock.run_dir, (True if fresh else None)
        print(f"ganlab: run directory {run_dir}", flush=True)
    try:
        with _blaming(recipe):
            _fit(recipe, run_dir, data, resume_from, placement, note)
    except GanlabError:
        if made_here is not False:
            release_new(lock, made_here)  # e.g. a builder refused a parameter: leave no empty run behind
        raise
    finally:
        if lock is not None:
            lock.release()
    return run_dir


def _restart_point(recipe, run_dir):
    """The checkpoint a restarted multi-worker chief continues from (None: none written yet)."""
    # Read back as the CLI reads recipes, so that keys added to ganlab since do not differ.
    changed = changed_keys(load_recipe(RunDir(run_dir).recipe, load_registry()).data, recipe.data)
    if changed:
        raise GanlabError(
            f"--out {run_dir} holds a run of another recipe (these differ: {', '.join(changed)}); choose a new --out"
        )
    found = checkpoint.latest(run_dir)
    if found is None:
        print(f"ganlab: restarting {run_dir} from the beginning: no checkpoint was written", flush=True)
        return None
    path, meta = found
    check_record(run_dir, path, recipe, "--out", "the recipe")
    print(f"ganlab: restarting {run_dir} from {path.name} (epoch {meta['epoch']}, step {meta['step']})", flush=True)
    return path


def resume(run_dir, registry, overrides=()) -> Path:
    """Continue ``run_dir`` from its newest complete checkpoint."""
    run_dir = Path(run_dir)
    files = RunDir(run_dir)
    stored = files.recipe
    if not stored.is_file():
        raise GanlabError(f"--resume {run_dir}: no recipe.yaml there; is it a ganlab run directory?")
    read_stored_recipe(stored)  # a damaged file is one line saying so
    before = load_recipe(stored, registry)
    recipe = load_recipe(stored, registry, overrides)
    changed = changed_keys(before.data, recipe.data)
    if changed:
        raise GanlabError(
            f"--resume {run_dir}: {MAY_CHANGE}; these differ: {', '.join(changed)}"
        )
    task = distribute.check(recipe["distribute"])
    chief = task is None or task.is_chief  # other workers take the chief's state, and write nothing there
    lock = acquire(run_dir, f"--resume {run_dir}", _READ_ONLY) if chief else None
    try:
        found = checkpoint.latest(run_dir)
        if found is None and chief:
            raise GanlabError(
                f"--resume {run_dir}: no complete checkpoint in {files.checkpoints}; start a new run instead"
            )
        if chief:
            check_record(run_dir, found[0], recipe)
        placement = distribute.place(recipe["distribute"])
        data = load_data(recipe)
        recipe, note = _decided(recipe, data)  # explicit already, unless recipe.yaml was written before auto
        path = None
        if placement.is_chief:
            path, meta = found
            print(
                f"ganlab: resuming {run_dir} from {path.name} (epoch {meta['epoch']}, step {meta['step']})", flush=True
            )
        with _blaming(recipe):
            _fit(recipe, run_dir, data, path, placement, note)
    finally:
        if lock is not None:
            lock.release()
    return run_dir


@contextlib.contextmanager
def _blaming(recipe):
    """A plugin's exception while training becomes one line naming its component (``blame``);
    an exception no component's code raised keeps its traceback: it is ganlab's bug."""
    try:
        yield
    except GanlabError:
        raise
    except Exception as exc:
        line = blame(exc, recipe)
        if line is None:
            raise
        raise GanlabError(line) from exc


_READ_ONLY = "a resumed run writes its checkpoints there: make it writable, or copy the run and resume the copy"


def _decided(recipe, data):
    """(the recipe with ``auto`` precision and jit_compile decided for this machine, the line saying
    so, printed here once, or None when the recipe left nothing to decide)."""
    recipe, note = auto_config.resolve(recipe, data.image_shape, num_classes(recipe, data), num_images=len(data))
    if note is not None:
        print(f"ganlab: {note}", flush=True)
    return recipe, note


def _fit(recipe, run_dir, data, resume_from, placement, note=None):
    """Train; the chief writes ``run_dir``, other workers a temporary folder removed afterwards."""
    with distribute.workspace(placement, run_dir) as write_dir, distribute.lost_workers(placement, run_dir):
        _train(recipe, write_dir, data, resume_from, placement, note)


def _train(recipe, run_dir, data, resume_from, placement, note=None):
    t, out = recipe["training"], recipe["output"]
    files = RunDir(run_dir)
    classes = num_classes(recipe, data)
    images, labels, validation = _hold_out(t, data, classes)
    spe, per_call, jit, epochs = _schedule(t, len(data), placement, f"dataset '{recipe['data']['name']}'")

    # Before the seed is set: training the classifier (first use) draws random numbers.
    judge = Judge(data, recipe["data"]["name"], extractor=out["extractor"]) if out["eval_every"] else None
    keras.utils.set_random_seed(t["seed"])
    total = t["steps"] if t["steps"] is not None else epochs * spe
    model = build_model(
        recipe, data.image_shape, per_call, placement, jit_compile=jit, total_steps=total, classes=classes
    )
    epoch0, step0, best = _starting_point(model, resume_from, placement)
    with _write_errors(run_dir):
        stopped = t["early_stop"] is not None and best.since >= t["early_stop"]
        if stopped or epoch0 >= epochs or (t["steps"] is not None and step0 >= t["steps"]):
            if _unsaved(files, model):  # killed (or out of disk) after the last checkpoint, before the final save
                _save_generators(model, files)
                write_model_card(run_dir)
                print(f"ganlab: {run_dir} had finished training; wrote {files.generator.name} from {resume_from.name}")
                return
            if stopped:
                raise GanlabError(
                    f"{run_dir} stopped early at epoch {epoch0}: {out['keep_best']} had not improved on {best.since} "
                    "quality checks; raise training.early_stop (or set it to null) with --set to continue"
                )
            raise GanlabError(
                f"{run_dir} is already trained to epoch {epoch0} (step {step0}); "
                "raise training.epochs or training.steps with --set to continue"
            )

        output_range = getattr(model.generator, "output_range", (-1.0, 1.0))
        if not files.real.exists():
            pick = np.random.default_rng(t["seed"]).choice(len(data), min(out["grid"] ** 2, len(data)), replace=False)
            save_png(files.real, data.images[np.sort(pick)] / 255.0)
        write_recipe(recipe, run_dir, output_range, classes, data.image_shape, auto=note)

        callbacks, nan_stop = default_callbacks(
            recipe, model, run_dir, epochs, epoch0, step0, classes, judge, validation, best
        )
        stream = real_stream(
            images, t["batch_size"] * t["d_steps"], t["seed"], output_range,
            start_step=step0, d_steps=t["d_steps"], replicas=placement.replicas, labels=labels,
        )
        model.fit(
            stream, epochs=epochs, initial_epoch=epoch0, steps_per_epoch=spe, callbacks=callbacks, shuffle=False,
            verbose=progress_verbosity(),
        )
        if nan_stop.bad_step is not None:
            step, key, value = nan_stop.bad_step
            kept = checkpoint.latest(run_dir)
            where = f"the last good checkpoint is {kept[0]}" if kept else "no checkpoint was written before it"
            raise TrainingDiverged(f"{key} became {value} at step {step}: training stopped; {where}")
        _save_generators(model, files)
        write_model_card(run_dir)
    print(f"ganlab: done: {run_dir}", flush=True)


def progress_verbosity() -> int:
    """Keras' ``verbose`` for ``fit``: the progress bar (1) in a terminal and in a notebook (Jupyter,
    Colab: an IPython kernel), which redraw it in place; one line per epoch (2) where output is a
    log (CI, a file), which a bar would fill with redraws."""
    return 1 if sys.stdout.isatty() or "ipykernel" in sys.modules else 2


def _unsaved(files, model) -> bool:
    return not files.generator.is_file() or (model.ema_generator is not None and not files.generator_raw.is_file())


def _save_generators(model, files):
    save_model(model.sampler, files.generator)
    if model.ema_generator is not None:
        save_model(model.generator, files.generator_raw)


@contextlib.contextmanager
def _write_errors(run_dir):
    """A failed write (a full disk, a read-only folder, a file where a folder should be) as one line."""
    try:
        yield
    except OSError as exc:
        raise _write_failed(run_dir, exc) from None


def _write_failed(run_dir, exc) -> GanlabError:
    """What a failed write means for the run: what is kept, and what to do. Partial temp files are removed."""
    remove_leftovers(run_dir)
    reason = f"{exc.strerror}{f' ({exc.filename})' if exc.filename else ''}" if exc.strerror else str(exc)
    kept = checkpoint.latest(run_dir)
    if kept is None:
        return GanlabError(
            f"cannot write to {run_dir}: {reason}; no checkpoint had been written, so there is nothing to resume: "
            "make room (or choose another folder) and start the run again"
        )
    path, meta = kept
    return GanlabError(
        f"cannot write to {run_dir}: {reason}; the last complete checkpoint, {path.name} (epoch {meta['epoch']}), "
        f"is kept: make room and continue with --resume {run_dir}"
    )


def _hold_out(t, data, classes):
    """(training images, their labels, ``validation`` for ``default_callbacks``): with
    ``training.d_validation`` some real images (and their labels) are held out of training."""
    labels = None if classes is None else data.labels  # a conditional GAN trains on (images, labels)
    if not t["d_validation"]:
        return data.images, labels, None
    images, held_out = hold_out(data.images, t["d_validation"], t["seed"])
    held_out_labels = None
    if labels is not None:  # the same seed holds out the same images' labels
        labels, held_out_labels = hold_out(labels, t["d_validation"], t["seed"])
    return images, labels, (images, held_out, (labels, held_out_labels))


def _schedule(t, n_images, placement, what):
    """(steps per epoch, steps per execution, jit_compile, epochs) for a dataset of ``n_images`` images."""
    spe = epoch_steps(t, n_images, what)
    jit, per_call = distribute.execution(placement, t["jit_compile"], min(t["steps_per_execution"], spe))
    distribute.check_batch(placement, t["batch_size"])
    # Keras runs whole executions, so an epoch is a multiple of steps_per_execution.
    spe -= spe % per_call
    epochs = math.ceil(t["steps"] / spe) if t["steps"] is not None else t["epochs"]
    return spe, per_call, jit, epochs


def _starting_point(model, resume_from, placement):
    """(epoch, step, best quality check) this fit starts from, restoring ``resume_from`` into ``model`` if given."""
    epoch0 = step0 = 0
    best = Best()
    if resume_from is not None:
        meta = checkpoint.restore(model, resume_from)
        epoch0, step0, best = meta["epoch"], meta["step"], Best.from_checkpoint(resume_from)
    if placement.task is not None:  # workers take the chief's state, whatever their own disks hold
        variables = [v for group in checkpoint.state_groups(model).values() for v in group]
        epoch0, step0, *counters = distribute.from_chief(placement, variables, (epoch0, step0, *best.counters()))
        best = Best.from_counters(*counters, arrays=best.arrays)
    return epoch0, step0, best
