"""``ganlab run``: assemble a recipe's components, train with ``fit``, fill the run directory.

Run directory::

    recipe.yaml            the resolved recipe, with provenance (versions, plugins)
    metrics.csv            one row per epoch: losses, D accuracies, wall time, quality
                           checks (output.eval_every), health warnings
    real.png               a grid of real training images
    samples/epoch_NNNN.png G(z) for one fixed z, every output.sample_every epochs (for a
                           conditional G, one row per class with z fixed per column)
    progress.gif           those grids as an animation
    losses.png             loss and D accuracy curves
    checkpoints/           the newest complete checkpoints (see ganlab.checkpoint)
    generator.keras        the final generator, loadable with keras.models.load_model
                           after ``import ganlab.layers`` (or with ``load_generator``)
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import sys
from pathlib import Path

import numpy as np

from ganlab import __version__, checkpoint, distribute, info
from ganlab.errors import GanlabError, TrainingDiverged
from ganlab.recipe import dump_yaml, load_recipe

#: Keys a resumed run may change: how long to train, and (any ``distribute`` key) on what.
RESUMABLE_CHANGES = {"training.epochs", "training.steps"}


def load_data(recipe):
    """Build the recipe's dataset (``Component.build`` checks the dataset contract).

    For a conditional recipe the dataset must have labels (see ``num_classes``).
    """
    data = recipe.components["data"].build(**recipe.component_params("data"))
    num_classes(recipe, data)
    return data


def num_classes(recipe, data):
    """The classes a conditional recipe's G and D are built for (largest label + 1); None if unconditional.

    ``ganlab.recipe`` has already made sure that G and D are both conditional or neither.
    """
    if not recipe.components["generator"].conditional:
        return None
    g, d, name = recipe["generator"]["name"], recipe["discriminator"]["name"], recipe["data"]["name"]
    if data.labels is None:
        raise GanlabError(
            f"generator '{g}' and discriminator '{d}' are conditional (they take labels) but dataset '{name}' has no labels: "
            "use a labelled dataset (e.g. image_folder with labels: true) or unconditional models (mlp, dcgan)"
        )
    if len(data.labels) and int(np.min(data.labels)) < 0:
        raise GanlabError(f"dataset '{name}': a conditional GAN needs labels 0, 1, 2, ...; found {int(np.min(data.labels))}")
    return int(np.max(data.labels)) + 1


def new_run_dir(recipe, out=None) -> Path:
    if out:
        run_dir = Path(out)
        if run_dir.exists() and any(run_dir.iterdir()):
            raise GanlabError(f"--out {run_dir}: folder exists and is not empty; choose a new one, or continue it with --resume {run_dir}")
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path(recipe["output"]["dir"]) / f"{Path(recipe.source).stem}-{stamp}"
        run_dir, n = base, 1
        while run_dir.exists():
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GanlabError(f"cannot write run directory {run_dir}: {exc.strerror or exc}; choose another with --out") from None
    return run_dir


def provenance(recipe) -> dict:
    import keras
    import tensorflow as tf

    return {
        "ganlab": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "components": {
            section: f"{c.qualified_name} ({c.distribution or 'unpackaged'} {c.version or ''})".replace(" )", ")")
            for section, c in recipe.components.items()
        },
        "seed": recipe["training"]["seed"],
    }


def write_recipe(recipe, run_dir, output_range, classes=None):
    """The resolved recipe with its provenance, G's output range and (conditional) class count."""
    text = dump_yaml({**recipe.data, "provenance": {**provenance(recipe), "output_range": list(output_range), "num_classes": classes}})
    tmp = Path(run_dir) / "recipe.yaml.tmp"
    tmp.write_text(text)
    os.replace(tmp, Path(run_dir) / "recipe.yaml")


def train(recipe, out=None) -> Path:
    """Train a validated recipe in a new run directory; returns the directory.

    Under ``distribute.strategy: multi_worker`` every worker runs this with the same
    ``out``. The chief writes the run directory; a directory that already holds this
    recipe's run is continued from its last checkpoint, so that a cluster restarted
    after a failure (the same command on every worker) picks up where it was.
    """
    task = distribute.check(recipe["distribute"])
    if task is not None and out is None:
        raise GanlabError("distribute.strategy multi_worker: give --out RUN_DIR, the same on every worker, so that a restarted cluster finds its checkpoints")
    placement = distribute.place(recipe["distribute"])
    data = load_data(recipe)
    resume_from = made_here = None
    if not placement.is_chief:
        run_dir = Path(out)
    elif task is not None and (Path(out) / "recipe.yaml").is_file():
        run_dir, resume_from = Path(out), _restart_point(recipe, Path(out))
    else:
        fresh = out is None or not Path(out).exists()
        run_dir = new_run_dir(recipe, out)
        made_here = run_dir if fresh else None
        print(f"ganlab: run directory {run_dir}", flush=True)
    try:
        _fit(recipe, run_dir, data, resume_from, placement)
    except GanlabError:
        if made_here is not None and not any(made_here.iterdir()):
            made_here.rmdir()  # e.g. a builder refused a parameter: leave no empty run behind
        raise
    return run_dir


def _restart_point(recipe, run_dir):
    """The checkpoint a restarted multi-worker chief continues from (None: none written yet)."""
    from ganlab.plugins import load_registry

    # Read back as the CLI reads recipes, so that keys added to ganlab since do not differ.
    changed = changed_keys(load_recipe(run_dir / "recipe.yaml", load_registry()).data, recipe.data)
    if changed:
        raise GanlabError(f"--out {run_dir} holds a run of another recipe (these differ: {', '.join(changed)}); choose a new --out")
    found = checkpoint.latest(run_dir)
    if found is None:
        print(f"ganlab: restarting {run_dir} from the beginning: no checkpoint was written", flush=True)
        return None
    print(f"ganlab: restarting {run_dir} from {found[0].name} (epoch {found[1]['epoch']}, step {found[1]['step']})", flush=True)
    return found[0]


def flatten(data, prefix="") -> dict:
    out = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def changed_keys(old: dict, new: dict) -> list:
    """Key paths whose values differ between two recipes, except those a resumed run may change."""
    old, new = flatten(old), flatten(new)
    return sorted(
        k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES and not k.startswith("distribute.")
    )


def resume(run_dir, registry, overrides=()) -> Path:
    """Continue ``run_dir`` from its newest complete checkpoint."""
    run_dir = Path(run_dir)
    stored = run_dir / "recipe.yaml"
    if not stored.is_file():
        raise GanlabError(f"--resume {run_dir}: no recipe.yaml there; is it a ganlab run directory?")
    before = load_recipe(stored, registry)
    recipe = load_recipe(stored, registry, overrides)
    changed = changed_keys(before.data, recipe.data)
    if changed:
        raise GanlabError(
            f"--resume {run_dir}: only the training length (training.epochs/steps) and distribute settings may change; these differ: {', '.join(changed)}"
        )
    task = distribute.check(recipe["distribute"])
    found = checkpoint.latest(run_dir)
    if found is None and (task is None or task.is_chief):  # other workers take the chief's state
        raise GanlabError(f"--resume {run_dir}: no complete checkpoint in {run_dir / checkpoint.FOLDER}; start a new run instead")
    placement = distribute.place(recipe["distribute"])
    data = load_data(recipe)
    path = None
    if placement.is_chief:
        path, meta = found
        print(f"ganlab: resuming {run_dir} from {path.name} (epoch {meta['epoch']}, step {meta['step']})", flush=True)
    _fit(recipe, run_dir, data, path, placement)
    return run_dir


def build_model(recipe, image_shape, steps_per_execution=1, placement=None, jit_compile=None, total_steps=1, classes=None):
    """G, D and the loss from the recipe, assembled into a compiled AdversarialModel.

    With a ``placement`` (see ``ganlab.distribute``) everything is built in its
    strategy's scope, and batch norm is synchronised across replicas if the recipe says
    so. ``jit_compile`` overrides the recipe's ``training.jit_compile``; ``total_steps``
    is the run's length in train steps, over which learning-rate schedules stretch.
    ``classes`` is the class count of a conditional recipe (see ``num_classes``).
    """
    with placement.strategy.scope() if placement else contextlib.nullcontext():
        return _build_model(recipe, image_shape, steps_per_execution, placement, jit_compile, total_steps, classes)


def _build_model(recipe, image_shape, steps_per_execution, placement, jit_compile, total_steps, classes):
    import keras

    from ganlab.engine import AdversarialModel
    from ganlab.optimizers import adam

    t = recipe["training"]
    comps = recipe.components
    info.check(t["info_modes"], t["latent_dim"], classes)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(t["precision"])  # layers take the policy when built
    context = {"image_shape": image_shape} if classes is None else {"image_shape": image_shape, "num_classes": classes}
    try:
        generator = comps["generator"].build(latent_dim=t["latent_dim"], **context, **recipe.component_params("generator"))
        discriminator = comps["discriminator"].build(**context, **recipe.component_params("discriminator"))
    finally:
        keras.config.set_dtype_policy(previous)
    loss = comps["loss"].build(**recipe.component_params("loss"))
    mode_head = None
    if t["info_modes"]:
        generator, mode_head = info.with_modes(generator, t["info_modes"]), info.mode_head(discriminator, t["info_modes"])
    if placement and placement.distributed and recipe["distribute"]["sync_batch_norm"]:
        distribute.synchronize_batch_norm(generator, discriminator)  # before the EMA copy is cloned from G
    model = AdversarialModel(
        generator, discriminator, loss, t["latent_dim"], noise=t["noise"], d_steps=t["d_steps"], d_batch=t["d_batch"], seed=t["seed"], ema=t["ema"],
        instance_noise=t["instance_noise"], mode_head=mode_head, info_weight=t["info_weight"], total_steps=total_steps, num_classes=classes,
    )

    jit_compile = t["jit_compile"] if jit_compile is None else jit_compile
    model.compile(adam(recipe, "d", total_steps), adam(recipe, "g", total_steps), jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    return model


def save_model(model, path):
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def load_generator(path):
    """A saved generator; imports ganlab.layers first so that Keras can rebuild its HashDropout."""
    import keras

    import ganlab.layers  # noqa: F401  (registers ganlab's layers with Keras' deserialiser)

    return keras.models.load_model(path, compile=False)


def to_unit(images, output_range):
    low, high = output_range
    return np.clip((np.asarray(images, np.float32) - low) / (high - low), 0.0, 1.0)


def stored_output_range(recipe_path):
    """The generator's output range that ``write_recipe`` stored in a run's recipe.yaml."""
    return tuple(_stored_provenance(recipe_path).get("output_range", (-1.0, 1.0)))


def stored_num_classes(recipe_path):
    """The class count of a conditional run, as ``write_recipe`` stored it; None if unconditional."""
    return _stored_provenance(recipe_path).get("num_classes")


def _stored_provenance(recipe_path):
    import yaml

    stored = yaml.safe_load(Path(recipe_path).read_text()) or {}
    return stored.get("provenance") or {}


def cycling_labels(n, classes):
    """0, 1, ..., classes - 1, 0, 1, ...: n labels, every class (nearly) equally often."""
    return np.arange(n, dtype=np.int32) % classes


def draw(generator, n, latent_dim, noise, output_range, seed, batch=500, labels=None):
    """n images in [0, 1] from G for the fixed z of ``fixed_z``, in batches; ``labels`` for a conditional G."""
    z = fixed_z(latent_dim, n, noise, seed)
    labels = None if labels is None else np.asarray(labels, np.int32)

    def inputs(i):
        return z[i : i + batch] if labels is None else [z[i : i + batch], labels[i : i + batch]]

    images = np.concatenate([np.asarray(generator(inputs(i), training=False)) for i in range(0, n, batch)])
    return to_unit(images, output_range)


def grid_inputs(latent_dim, grid, noise, seed, classes=None):
    """(G's inputs, columns) for the sample grids: ``grid`` x ``grid`` fixed z, or for a
    conditional G one row per class, with the same ``grid`` fixed z along every row."""
    z = fixed_z(latent_dim, grid * grid if classes is None else grid, noise, seed)
    if classes is None:
        return z, None
    return [np.tile(z, (classes, 1)), np.repeat(np.arange(classes, dtype=np.int32), grid)], grid


def fixed_z(latent_dim, n, noise, seed):
    """The z used for sample grids: the same for every epoch and for resumed runs."""
    rng = np.random.default_rng(seed)
    if noise == "uniform":
        return rng.uniform(-1.0, 1.0, (n, latent_dim)).astype(np.float32)
    return rng.standard_normal((n, latent_dim)).astype(np.float32)


def _fit(recipe, run_dir, data, resume_from, placement):
    """Train; the chief writes ``run_dir``, other workers a temporary folder removed afterwards."""
    with distribute.workspace(placement, run_dir) as write_dir, distribute.lost_workers(placement, run_dir):
        _train(recipe, write_dir, data, resume_from, placement)


def _train(recipe, run_dir, data, resume_from, placement):
    import keras

    from ganlab.callbacks import DValidation, LossPlot, MetricsCSV, SampleGrids, TensorBoardLog
    from ganlab.control import Checkpointer, NaNStop, StepLimit
    from ganlab.data import hold_out, real_stream, steps_per_epoch
    from ganlab.evaluate import Judge
    from ganlab.health import HealthCheck
    from ganlab.quality import QualityCheck
    from ganlab.standing import StandingStatistics, sample_count
    from ganlab.images import save_png

    t, out = recipe["training"], recipe["output"]
    images_per_step = t["batch_size"] * t["d_steps"]
    classes = num_classes(recipe, data)
    labels = None if classes is None else data.labels  # a conditional GAN trains on (images, labels)
    images, held_out = (data.images, None) if not t["d_validation"] else hold_out(data.images, t["d_validation"], t["seed"])
    held_out_labels = None
    if t["d_validation"] and labels is not None:  # the same seed holds out the same images' labels
        labels, held_out_labels = hold_out(labels, t["d_validation"], t["seed"])
    spe = steps_per_epoch(len(images), images_per_step, f"dataset '{recipe['data']['name']}'")
    if t["steps"] is not None:
        spe = min(spe, t["steps"])
    jit, per_call = distribute.execution(placement, t["jit_compile"], min(t["steps_per_execution"], spe))
    distribute.check_batch(placement, t["batch_size"])
    # Keras runs whole executions, so an epoch is a multiple of steps_per_execution.
    spe -= spe % per_call
    epochs = math.ceil(t["steps"] / spe) if t["steps"] is not None else t["epochs"]

    # Before the seed is set: training the classifier (first use) draws random numbers.
    judge = Judge(data, recipe["data"]["name"]) if out["eval_every"] else None
    keras.utils.set_random_seed(t["seed"])
    total = t["steps"] if t["steps"] is not None else epochs * spe
    model = build_model(recipe, data.image_shape, per_call, placement, jit_compile=jit, total_steps=total, classes=classes)
    epoch0 = step0 = 0
    if resume_from is not None:
        meta = checkpoint.restore(model, resume_from)
        epoch0, step0 = meta["epoch"], meta["step"]
    if placement.task is not None:  # workers take the chief's state, whatever their own disks hold
        variables = [v for group in checkpoint.state_groups(model).values() for v in group]
        epoch0, step0 = distribute.from_chief(placement, variables, (epoch0, step0))
    if epoch0 >= epochs or (t["steps"] is not None and step0 >= t["steps"]):
        raise GanlabError(f"{run_dir} is already trained to epoch {epoch0} (step {step0}); raise training.epochs or training.steps with --set to continue")

    output_range = getattr(model.generator, "output_range", (-1.0, 1.0))
    grid_n = out["grid"] ** 2
    grid_z, grid_cols = grid_inputs(t["latent_dim"], out["grid"], t["noise"], t["seed"], classes)
    if not (Path(run_dir) / "real.png").exists():
        pick = np.random.default_rng(t["seed"]).choice(len(data), min(grid_n, len(data)), replace=False)
        save_png(Path(run_dir) / "real.png", data.images[np.sort(pick)] / 255.0)
    write_recipe(recipe, run_dir, output_range, classes)

    nan_stop = NaNStop()
    health = HealthCheck(num_classes=judge.num_classes if judge else None)
    callbacks = [
        nan_stop,
        health,
        MetricsCSV(run_dir, initial_epoch=epoch0, initial_step=step0, health=health),
        SampleGrids(
            run_dir, lambda: to_unit(model.sampler(grid_z, training=False), output_range), every=out["sample_every"], final_epoch=epochs,
            initial_epoch=epoch0, cols=grid_cols,
        ),
        LossPlot(run_dir),
        Checkpointer(run_dir, out["checkpoint_every"], epochs, nan_stop),
    ]
    if judge is not None:
        def sample(n):  # a conditional G draws every class in turn
            return draw(model.sampler, n, t["latent_dim"], t["noise"], output_range, t["seed"] + 1, labels=None if classes is None else cycling_labels(n, classes))

        callbacks.insert(1, QualityCheck(judge, sample, out["eval_every"], epochs))
    if out["tensorboard"]:
        callbacks.append(TensorBoardLog(run_dir))
    if held_out is not None:
        callbacks.insert(1, DValidation(model.discriminator, images, held_out, output_range, model.adversarial_loss.threshold, (labels, held_out_labels)))
    if t["steps"] is not None:
        callbacks.insert(1, StepLimit(t["steps"]))
    if model.ema_generator is not None:  # before anything below looks at the EMA generator
        n = sample_count(t["batch_size"])
        z = fixed_z(t["latent_dim"], n, t["noise"], t["seed"] + 2)  # seed: grids, seed + 1: quality checks
        callbacks.insert(1, StandingStatistics(model.ema_generator, z, t["batch_size"], None if classes is None else cycling_labels(n, classes)))
    stream = real_stream(images, images_per_step, t["seed"], output_range, start_step=step0, d_steps=t["d_steps"], replicas=placement.replicas, labels=labels)
    try:
        model.fit(stream, epochs=epochs, initial_epoch=epoch0, steps_per_epoch=spe, callbacks=callbacks, shuffle=False, verbose=1 if sys.stdout.isatty() else 2)
    except OSError as exc:
        raise GanlabError(f"cannot write to {run_dir}: {exc.strerror or exc}; the last complete checkpoint is kept, continue with --resume {run_dir}") from None
    if nan_stop.bad_step is not None:
        step, key, value = nan_stop.bad_step
        kept = checkpoint.latest(run_dir)
        where = f"the last good checkpoint is {kept[0]}" if kept else "no checkpoint was written before it"
        raise TrainingDiverged(f"{key} became {value} at step {step}: training stopped; {where}")
    save_model(model.sampler, Path(run_dir) / "generator.keras")
    if model.ema_generator is not None:
        save_model(model.generator, Path(run_dir) / "generator_raw.keras")
    print(f"ganlab: done: {run_dir}", flush=True)
