"""Drawing images from a generator: the fixed z of sample grids, labels for a conditional
G, images in [0, 1], and ``ganlab sample``.

A conditional run's generator also takes labels: ``label`` draws every image of that
class, and without it the labels cycle through the classes (0, 1, ..., K-1, 0, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ganlab import resources
from ganlab.errors import GanlabError
from ganlab.images import save_png
from ganlab.recipe.schema import MAX_SEED
from ganlab.rundir import (
    RunDir,
    atomic_path,
    load_generator,
    read_stored_recipe,
    stored_image_shape,
    stored_num_classes,
    stored_output_range,
)


def to_unit(images, output_range):
    low, high = output_range
    return np.clip((np.asarray(images, np.float32) - low) / (high - low), 0.0, 1.0)


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



def check_seed(seed, flag="--seed"):
    if not 0 <= seed <= MAX_SEED:
        raise GanlabError(f"{flag} {seed}: a seed must be a whole number from 0 to {MAX_SEED}")


def check_memory(n, image_shape, latent_dim, flag="-n", available=None):
    """Refuse to draw ``n`` images that cannot fit in memory, with the numbers.

    ``draw`` holds z, G's outputs and their [0, 1] copy as float32: about
    n x (latent_dim + 2 x pixels) x 4 bytes, against ``resources.available_bytes()``.
    """
    per_image = (latent_dim + 2 * int(np.prod(image_shape))) * resources.FLOAT
    available = resources.available_bytes() if available is None else available
    if available is not None and n * per_image > available:
        shape = "x".join(str(d) for d in image_shape)
        raise GanlabError(
            f"{flag} {n}: {n} images of {shape} need about {_size(n * per_image)} as float32, more than the "
            f"{_size(available)} of memory available; draw at most about {max(1, available // per_image)} at a time"
        )


def _size(n_bytes):
    return f"{n_bytes / resources.GiB:,.1f} GiB" if n_bytes >= resources.GiB / 10 else f"{n_bytes / 2**20:,.1f} MiB"


def missing_generator(run_dir, files):
    """The one line for a run without generator.keras: what to run, depending on its checkpoints."""
    newest = sorted(files.checkpoints.glob("epoch_*.npz"))
    if not newest:
        return GanlabError(f"{run_dir}: no {files.generator.name} and no checkpoint: the run never finished an epoch; "
                           "train it again")
    return GanlabError(
        f"{run_dir}: no {files.generator.name} (the run stopped before saving it); run 'ganlab run --resume "
        f"{run_dir}' to write it from {newest[-1].name} (training on first, if it had not finished)"
    )


def generators(run_dir, registry=None, extra=True) -> dict:
    """The run's generators by name: ``generator``, ``generator_raw`` with EMA, and ``generator_best``
    with output.keep_best (generator_best.keras; ``rundir.read_best`` says which check it is from).

    ``generator`` (and ``generator_raw``) come from generator.keras; for a run stopped before its final
    save, from its newest checkpoint (with a note on stderr), if the run recorded its image shape;
    otherwise a GanlabError saying what to run. ``extra=False`` reads ``generator`` only.
    """
    files = RunDir(run_dir)
    if files.generator.is_file():
        found = {"generator": load_generator(files.generator)}
        if extra and files.generator_raw.is_file():
            found["generator_raw"] = load_generator(files.generator_raw)
    else:
        found = _from_checkpoint(run_dir, files, registry)
        if not extra:
            found = {"generator": found["generator"]}
    if extra and files.generator_best.is_file():
        found["generator_best"] = load_generator(files.generator_best)
    return found


def _from_checkpoint(run_dir, files, registry):
    shape = stored_image_shape(files.recipe)
    if shape is None:
        raise missing_generator(run_dir, files)
    from ganlab.components.loading import load_registry  # here: TensorFlow is loaded by now
    from ganlab.training import checkpoint

    restored = checkpoint.model_from(run_dir, registry or load_registry(), shape, stored_num_classes(files.recipe))
    if restored is None:
        raise missing_generator(run_dir, files)
    model, path = restored
    print(
        f"ganlab: {run_dir} has no {files.generator.name} (stopped before its final save): drawing from {path.name}; "
        f"'ganlab run --resume {run_dir}' writes it",
        file=sys.stderr,
        flush=True,
    )
    found = {"generator": model.sampler}
    if model.ema_generator is not None:
        found["generator_raw"] = model.generator
    return found


def sample(run_dir, output, n=64, seed=0, label=None, registry=None):
    """Write ``n`` samples as a PNG grid, or as an ``.npz`` of float32 images in [0, 1].

    ``registry`` builds G when it is drawn from a checkpoint (default: ``load_registry()``).

    The ``.npz`` of a conditional run also holds ``labels``, the class each image was drawn for.
    """
    run_dir, output = Path(run_dir), Path(output)
    if n < 1:
        raise GanlabError(f"-n {n}: the number of images must be at least 1")
    check_seed(seed)
    if output.suffix.lower() not in (".png", ".npz"):
        raise GanlabError(f"-o {output}: write a .png grid or an .npz array file")
    files = RunDir(run_dir)
    recipe_path = files.recipe
    if not recipe_path.is_file():
        raise GanlabError(f"{run_dir}: no {recipe_path.name}; is it a ganlab run directory?")
    if not output.parent.is_dir():
        raise GanlabError(f"-o {output}: folder {output.parent} does not exist")
    training = read_stored_recipe(recipe_path)["training"]

    classes = stored_num_classes(recipe_path)
    if label is not None and classes is None:
        raise GanlabError(
            f"--label {label}: {run_dir} is an unconditional run (its generator takes no labels); leave --label out"
        )
    if label is not None and not 0 <= label < classes:
        raise GanlabError(f"--label {label}: {run_dir} has classes 0 to {classes - 1}")
    generator = generators(run_dir, registry, extra=False)["generator"]
    check_memory(n, generator.output_shape[1:], training["latent_dim"])
    labels, drawn = None, ""
    if label is not None:
        labels, drawn = np.full(n, label, np.int32), f" of class {label}"
    elif classes is not None:
        labels, drawn = cycling_labels(n, classes), f" of classes 0..{classes - 1} in turn"
    output_range = stored_output_range(recipe_path)
    try:
        images = draw(generator, n, training["latent_dim"], training["noise"], output_range, seed, labels=labels)
    except MemoryError:
        raise GanlabError(f"-n {n}: out of memory while drawing {n} images; draw fewer") from None
    try:
        if output.suffix.lower() == ".npz":
            with atomic_path(output) as tmp, open(tmp, "wb") as f:
                np.savez_compressed(f, images=images, **({} if labels is None else {"labels": labels}))
        else:
            save_png(output, images)
    except OSError as exc:
        raise GanlabError(f"-o {output}: cannot write it ({exc.strerror or exc}); choose another file") from None
    print(f"ganlab: wrote {n} samples{drawn} to {output}")
