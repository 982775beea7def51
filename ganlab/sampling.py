"""Drawing images from a generator: the fixed z of sample grids, labels for a conditional
G, images in [0, 1], and ``ganlab sample``.

A conditional run's generator also takes labels: ``label`` draws every image of that
class, and without it the labels cycle through the classes (0, 1, ..., K-1, 0, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ganlab.errors import GanlabError
from ganlab.images import save_png
from ganlab.rundir import RunDir, atomic_path, load_generator, stored_num_classes, stored_output_range


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


def sample(run_dir, output, n=64, seed=0, label=None):
    """Write ``n`` samples as a PNG grid, or as an ``.npz`` of float32 images in [0, 1].

    The ``.npz`` of a conditional run also holds ``labels``, the class each image was drawn for.
    """
    run_dir, output = Path(run_dir), Path(output)
    if n < 1:
        raise GanlabError(f"-n {n}: the number of images must be at least 1")
    if output.suffix.lower() not in (".png", ".npz"):
        raise GanlabError(f"-o {output}: write a .png grid or an .npz array file")
    files = RunDir(run_dir)
    recipe_path, model_path = files.recipe, files.generator
    for path in (recipe_path, model_path):
        if not path.is_file():
            raise GanlabError(
                f"{run_dir}: no {path.name}; sample a finished run (or finish it with --resume {run_dir})"
            )
    if not output.parent.exists():
        raise GanlabError(f"-o {output}: folder {output.parent} does not exist")
    training = yaml.safe_load(recipe_path.read_text())["training"]

    classes = stored_num_classes(recipe_path)
    if label is not None and classes is None:
        raise GanlabError(
            f"--label {label}: {run_dir} is an unconditional run (its generator takes no labels); leave --label out"
        )
    if label is not None and not 0 <= label < classes:
        raise GanlabError(f"--label {label}: {run_dir} has classes 0 to {classes - 1}")
    labels, drawn = None, ""
    if label is not None:
        labels, drawn = np.full(n, label, np.int32), f" of class {label}"
    elif classes is not None:
        labels, drawn = cycling_labels(n, classes), f" of classes 0..{classes - 1} in turn"

    generator = load_generator(model_path)
    output_range = stored_output_range(recipe_path)
    images = draw(generator, n, training["latent_dim"], training["noise"], output_range, seed, labels=labels)
    if output.suffix.lower() == ".npz":
        with atomic_path(output) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, images=images, **({} if labels is None else {"labels": labels}))
    else:
        save_png(output, images)
    print(f"ganlab: wrote {n} samples{drawn} to {output}")
