"""The run directory: its file names, provenance, atomic writes, saving and loading the generator.

Run directory::

    recipe.yaml            the resolved recipe, with provenance (versions, plugins)
    metrics.csv            one row per epoch: losses, D accuracies, wall time, quality
                           checks (output.eval_every), health warnings
    real.png               a grid of real training images
    samples/epoch_NNNN.png G(z) for one fixed z, every output.sample_every epochs (for a
                           conditional G, one row per class with z fixed per column)
    progress.gif           those grids as an animation
    losses.png             loss and D accuracy curves
    checkpoints/           the newest complete checkpoints (see ganlab.training.checkpoint)
    generator.keras        the final generator, loadable with keras.models.load_model
                           after ``import ganlab.training.layers`` (or with ``load_generator``)
    eval.json              the results of every ``ganlab eval``
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from ganlab import __version__
from ganlab.errors import GanlabError
from ganlab.recipe.yaml_io import dump_yaml


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


def save_model(model, path):
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def load_generator(path):
    """A saved generator; imports ganlab.training.layers first so that Keras can rebuild its HashDropout."""
    import keras

    import ganlab.training.layers  # noqa: F401  (registers ganlab's layers with Keras' deserialiser)

    return keras.models.load_model(path, compile=False)


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
