"""``ganlab sample``: draw images from a run's final generator.

A conditional run's generator also takes labels: ``label`` draws every image of that
class, and without it the labels cycle through the classes (0, 1, ..., K-1, 0, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import yaml

from ganlab.errors import GanlabError


def sample(run_dir, output, n=64, seed=0, label=None):
    """Write ``n`` samples as a PNG grid, or as an ``.npz`` of float32 images in [0, 1].

    The ``.npz`` of a conditional run also holds ``labels``, the class each image was drawn for.
    """
    run_dir, output = Path(run_dir), Path(output)
    if n < 1:
        raise GanlabError(f"-n {n}: the number of images must be at least 1")
    if output.suffix.lower() not in (".png", ".npz"):
        raise GanlabError(f"-o {output}: write a .png grid or an .npz array file")
    model_path = run_dir / "generator.keras"
    recipe_path = run_dir / "recipe.yaml"
    for path in (recipe_path, model_path):
        if not path.is_file():
            raise GanlabError(f"{run_dir}: no {path.name}; sample a finished run (or finish it with --resume {run_dir})")
    if not output.parent.exists():
        raise GanlabError(f"-o {output}: folder {output.parent} does not exist")
    training = yaml.safe_load(recipe_path.read_text())["training"]

    from ganlab.run import cycling_labels, stored_num_classes

    classes = stored_num_classes(recipe_path)
    if label is not None and classes is None:
        raise GanlabError(f"--label {label}: {run_dir} is an unconditional run (its generator takes no labels); leave --label out")
    if label is not None and not 0 <= label < classes:
        raise GanlabError(f"--label {label}: {run_dir} has classes 0 to {classes - 1}")
    labels, drawn = None, ""
    if label is not None:
        labels, drawn = np.full(n, label, np.int32), f" of class {label}"
    elif classes is not None:
        labels, drawn = cycling_labels(n, classes), f" of classes 0..{classes - 1} in turn"

    from ganlab.images import save_png
    from ganlab.run import draw, load_generator, stored_output_range

    generator = load_generator(model_path)
    images = draw(generator, n, training["latent_dim"], training["noise"], stored_output_range(recipe_path), seed, labels=labels)
    if output.suffix.lower() == ".npz":
        tmp = output.with_name(output.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, images=images, **({} if labels is None else {"labels": labels}))
        os.replace(tmp, output)
    else:
        save_png(output, images)
    print(f"ganlab: wrote {n} samples{drawn} to {output}")
