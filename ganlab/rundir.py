"""The run directory: its file names, provenance, atomic writes, saving and loading the generator.

Run directory (``RunDir`` names every entry; nothing else spells these names)::

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
    generator_raw.keras    with training.ema: the raw (not averaged) generator
    eval.json              the results of every ``ganlab eval``
    tensorboard/           with output.tensorboard: the epoch logs and grids, for TensorBoard

Every file is replaced atomically (``atomic_path``), except that metrics.csv is appended
to, one flushed row per epoch. This module imports neither TensorFlow nor Keras at import
time, so that ``ganlab.images`` (numpy and imageio only) can use its atomic write.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
from pathlib import Path

import yaml

from ganlab import __version__
from ganlab.errors import GanlabError
from ganlab.recipe.yaml_io import dump_yaml

RECIPE = "recipe.yaml"
METRICS = "metrics.csv"
REAL = "real.png"
SAMPLES = "samples"
PROGRESS = "progress.gif"
LOSSES = "losses.png"
CHECKPOINTS = "checkpoints"
GENERATOR = "generator.keras"
GENERATOR_RAW = "generator_raw.keras"
EVAL = "eval.json"
TENSORBOARD = "tensorboard"

_SAMPLE_GRID = re.compile(r"epoch_(\d+)\.png")


class RunDir:
    """The paths of one run directory's entries, by what they hold."""

    def __init__(self, root):
        self.root = Path(root)

    @property
    def recipe(self) -> Path:
        return self.root / RECIPE

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def real(self) -> Path:
        return self.root / REAL

    @property
    def samples(self) -> Path:
        return self.root / SAMPLES

    @property
    def progress(self) -> Path:
        return self.root / PROGRESS

    @property
    def losses(self) -> Path:
        return self.root / LOSSES

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def generator(self) -> Path:
        return self.root / GENERATOR

    @property
    def generator_raw(self) -> Path:
        return self.root / GENERATOR_RAW

    @property
    def eval_results(self) -> Path:
        return self.root / EVAL

    @property
    def tensorboard(self) -> Path:
        return self.root / TENSORBOARD

    def sample_grid(self, epoch: int) -> Path:
        """The grid drawn after ``epoch`` (1-based)."""
        return self.samples / f"epoch_{epoch:04d}.png"

    def sample_grids(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every sample grid there is, in epoch order; other files are ignored."""
        found = []
        for path in self.samples.glob("epoch_*.png"):
            match = _SAMPLE_GRID.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)


# -- atomic writes ------------------------------------------------------------------------


def temp_path(path) -> Path:
    """Where ``atomic_path`` writes ``path`` first: hidden, next to it, with its extension
    (``.name.tmp.png``), so writers that pick the format from the extension work and
    globs such as ``epoch_*.npz`` never see it."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


def leftover_temps(folder) -> list[Path]:
    """Temp files in ``folder`` that a killed process left: ``atomic_path``'s, and the
    ``NAME.tmp`` files that earlier ganlab versions wrote."""
    folder = Path(folder)
    return sorted({*folder.glob(".*.tmp.*"), *folder.glob("*.tmp")})


@contextlib.contextmanager
def atomic_path(path, sync: bool = False):
    """Yield a temp path next to ``path`` to write to; on success rename it to ``path``.

    A reader (or a crash) never sees half a file. The parent folder is created; on error
    the temp file is removed. With ``sync`` the file is flushed to disk before the rename
    and the folder after it, so that a power cut leaves the old file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        if sync:
            _fsync(tmp, os.O_RDWR)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        try:
            _fsync(path.parent, os.O_RDONLY)
        except OSError:
            pass  # a folder cannot be opened for syncing on some systems


def _fsync(path, flags):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- creating a run directory and its recipe ------------------------------------------------


def new_run_dir(recipe, out=None) -> Path:
    if out:
        run_dir = Path(out)
        if run_dir.exists() and any(run_dir.iterdir()):
            raise GanlabError(
                f"--out {run_dir}: folder exists and is not empty; choose a new one, "
                f"or continue it with --resume {run_dir}"
            )
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
        raise GanlabError(
            f"cannot write run directory {run_dir}: {exc.strerror or exc}; choose another with --out"
        ) from None
    return run_dir


def provenance(recipe) -> dict:
    import keras  # here, not at the top: see the module docstring
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
    stored = {**provenance(recipe), "output_range": list(output_range), "num_classes": classes}
    text = dump_yaml({**recipe.data, "provenance": stored})
    with atomic_path(RunDir(run_dir).recipe) as tmp:
        tmp.write_text(text)


def stored_output_range(recipe_path):
    """The generator's output range that ``write_recipe`` stored in a run's recipe.yaml."""
    return tuple(_stored_provenance(recipe_path).get("output_range", (-1.0, 1.0)))


def stored_num_classes(recipe_path):
    """The class count of a conditional run, as ``write_recipe`` stored it; None if unconditional."""
    return _stored_provenance(recipe_path).get("num_classes")


def _stored_provenance(recipe_path):
    stored = yaml.safe_load(Path(recipe_path).read_text()) or {}
    return stored.get("provenance") or {}


# -- saving and loading generators ------------------------------------------------------------


def save_model(model, path):
    """Save a Keras model to ``path`` (``.keras``), atomically."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def load_generator(path):
    """A saved generator; imports ganlab.training.layers first so that Keras can rebuild its HashDropout."""
    import keras  # here, not at the top: see the module docstring

    import ganlab.training.layers  # noqa: F401  (registers ganlab's layers with Keras' deserialiser)

    return keras.models.load_model(path, compile=False)
