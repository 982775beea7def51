"""Drawing images from a generator: the fixed z of sample grids, labels for a conditional
G, truncation, images in [0, 1], and ``ganlab sample`` (``Run.sample`` in the Python API).

A conditional run's generator also takes labels: ``label`` draws every image of that
class, and without it the labels cycle through the classes (0, 1, ..., K-1, 0, ...).

Truncation (``psi`` in [0, 1]) moves z towards the mean latent before G sees it: psi 1 is
no change, psi 0 draws every image from the mean z. Smaller psi trades diversity for
fidelity: the z far from the mean, where G saw few samples in training, are drawn less.
"""

from __future__ import annotations

import dataclasses
import numbers
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


def draw(generator, n, latent_dim, noise, output_range, seed, batch=500, labels=None, truncation=None, modes=0):
    """n images in [0, 1] from G for the fixed z of ``fixed_z``, in batches; ``labels`` for a conditional G.

    ``truncation`` (psi, None: none) moves z towards the mean latent, keeping its first
    ``modes`` entries (InfoGAN's mode choice), as ``truncate`` does.
    """
    z = truncate(fixed_z(latent_dim, n, noise, seed), truncation, modes)
    return generate(generator, z, output_range, labels, batch)


def generate(generator, z, output_range, labels=None, batch=500):
    """G(z) in [0, 1], in batches of ``batch``; ``labels`` (one per row of z) for a conditional G."""
    labels = None if labels is None else np.asarray(labels, np.int32)

    def inputs(i):
        return z[i : i + batch] if labels is None else [z[i : i + batch], labels[i : i + batch]]

    images = np.concatenate([np.asarray(generator(inputs(i), training=False)) for i in range(0, len(z), batch)])
    return to_unit(images, output_range)


def truncate(z, psi, modes=0):
    """z moved towards the mean latent: ``mean + psi * (z - mean)``; None leaves z as it is.

    Both of ganlab's noises, N(0, I) and U(-1, 1), have their mean at 0, so this scales z
    by psi. The first ``modes`` entries are kept: with ``training.info_modes`` they choose
    the InfoGAN mode by their argmax (``LatentModes``), a choice between modes, not a
    distance from the mean, and psi 0 would otherwise send every image to mode 0.
    """
    if psi is None:
        return z
    z = np.array(z, np.float32)
    z[:, modes:] *= np.float32(psi)
    return z


def check_truncation(psi, flag="--truncation"):
    """Refuse a psi that is not a number from 0 to 1 (None: no truncation)."""
    if psi is None:
        return
    number = isinstance(psi, numbers.Real) and not isinstance(psi, bool)
    if not number or not 0 <= psi <= 1:
        raise GanlabError(
            f"{flag} {psi}: psi must be a number from 0 (every image from the mean z) to 1 (no truncation)"
        )


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


@dataclasses.dataclass
class Source:
    """What drawing from a run needs besides G: read from its recipe.yaml, the request checked."""

    latent_dim: int
    noise: str
    modes: int  # training.info_modes: z's first entries that choose an InfoGAN mode
    output_range: tuple
    classes: int | None  # a conditional run's class count


def source(run_dir, seed=0, label=None, truncation=None) -> Source:
    """Check a request to draw from ``run_dir`` (seed, label, psi) against its recipe.yaml, before G is loaded."""
    check_seed(seed)
    check_truncation(truncation)
    recipe_path = RunDir(run_dir).recipe
    if not recipe_path.is_file():
        raise GanlabError(f"{run_dir}: no {recipe_path.name}; is it a ganlab run directory?")
    training = read_stored_recipe(recipe_path)["training"]
    classes = stored_num_classes(recipe_path)
    if label is not None and classes is None:
        raise GanlabError(
            f"--label {label}: {run_dir} is an unconditional run (its generator takes no labels); leave --label out"
        )
    if label is not None and not 0 <= label < classes:
        raise GanlabError(f"--label {label}: {run_dir} has classes 0 to {classes - 1}")
    return Source(
        training["latent_dim"], training["noise"], training.get("info_modes") or 0,
        stored_output_range(recipe_path), classes,
    )


def check_output(output, suffixes, wanted):
    """Refuse an output file with another suffix (``wanted`` says what to write) or in a missing folder."""
    output = Path(output)
    if output.suffix.lower() not in suffixes:
        raise GanlabError(f"-o {output}: {wanted}")
    if not output.parent.is_dir():
        raise GanlabError(f"-o {output}: folder {output.parent} does not exist")


def sample(run_dir, output=None, n=64, seed=0, label=None, registry=None, truncation=None, load=None):
    """``n`` images in [0, 1], (n, height, width, channels); with ``output``, also written as a
    PNG grid, or as an ``.npz`` of float32 images (and, for a conditional run, ``labels``).

    ``load`` returns G (called once the request is checked; default: ``generators``, which
    builds G from a checkpoint with ``registry`` when the run stopped before its final save).
    """
    run_dir = Path(run_dir)
    if n < 1:
        raise GanlabError(f"-n {n}: the number of images must be at least 1")
    if output is not None:
        check_output(output, (".png", ".npz"), "write a .png grid or an .npz array file")
    drawn_from = source(run_dir, seed, label, truncation)
    generator = load() if load else generators(run_dir, registry, extra=False)["generator"]
    check_memory(n, generator.output_shape[1:], drawn_from.latent_dim)
    labels, drawn = None, ""
    if label is not None:
        labels, drawn = np.full(n, label, np.int32), f" of class {label}"
    elif drawn_from.classes is not None:
        classes = drawn_from.classes
        labels, drawn = cycling_labels(n, classes), f" of classes 0..{classes - 1} in turn"
    try:
        images = draw(
            generator, n, drawn_from.latent_dim, drawn_from.noise, drawn_from.output_range, seed, labels=labels,
            truncation=truncation, modes=drawn_from.modes,
        )
    except MemoryError:
        raise GanlabError(f"-n {n}: out of memory while drawing {n} images; draw fewer") from None
    if output is not None:
        _write(Path(output), images, labels)
        print(f"ganlab: wrote {n} samples{drawn} to {output}")
    return images


def _write(output, images, labels):
    try:
        if output.suffix.lower() == ".npz":
            with atomic_path(output) as tmp, open(tmp, "wb") as f:
                np.savez_compressed(f, images=images, **({} if labels is None else {"labels": labels}))
        else:
            save_png(output, images)
    except OSError as exc:
        raise GanlabError(f"-o {output}: cannot write it ({exc.strerror or exc}); choose another file") from None
