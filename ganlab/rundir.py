"""The run directory: its file names, provenance, atomic writes, saving and loading the generator.

Run directory (``RunDir`` names every entry but MODEL_CARD.md and export/, which the modules
that write them name: ``ganlab.model_card.MODEL_CARD``, ``ganlab.export.exporter.FOLDER``)::

    recipe.yaml            the resolved recipe, with provenance (versions, plugins)
    metrics.csv            one row per epoch: losses, D accuracies, wall time, quality
                           checks (output.eval_every), health warnings
    real.png               a grid of real training images
    samples/epoch_NNNN.png G(z) for one fixed z, every output.sample_every epochs (for a
                           conditional G, one row per class with z fixed per column)
    progress.gif           those grids as an animation
    losses.png             loss and D accuracy curves
    quality.png            with output.eval_every: the quick metrics against step, beside
                           the real baseline, the best point marked
    checkpoints/           the newest complete checkpoints (see ganlab.training.checkpoint)
    generator.keras        the final generator, loadable with keras.models.load_model
                           after ``import ganlab.training.layers`` (or with ``load_generator``)
    generator_raw.keras    with training.ema: the raw (not averaged) generator
    generator_best.keras   with output.keep_best: the generator (averaged, with EMA) of
                           the best quality check so far
    best.json              its metric, value, epoch and step (``read_best``)
    eval.json              the results of every ``ganlab eval``
    MODEL_CARD.md          the run in one page (model, data, training, evaluations, intended
                           use), rewritten at the end of training and after each ``ganlab eval``
    export/                ``ganlab export``'s artefacts (SavedModel, ONNX, LiteRT), each with
                           its metadata JSON
    tensorboard/           with output.tensorboard: the epoch logs and grids, for TensorBoard

Every file is replaced atomically (``atomic_path``), except that metrics.csv is appended
to, one flushed row per epoch. This module imports neither TensorFlow nor Keras at import
time, so that ``ganlab.images`` (numpy and imageio only) can use its atomic write.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zipfile
from pathlib import Path

import yaml

from ganlab import __version__
from ganlab.errors import GanlabError, one_line
from ganlab.recipe.yaml_io import dump_yaml

RECIPE = "recipe.yaml"
METRICS = "metrics.csv"
REAL = "real.png"
SAMPLES = "samples"
PROGRESS = "progress.gif"
LOSSES = "losses.png"
QUALITY = "quality.png"
CHECKPOINTS = "checkpoints"
GENERATOR = "generator.keras"
GENERATOR_RAW = "generator_raw.keras"
GENERATOR_BEST = "generator_best.keras"
BEST = "best.json"
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
    def quality(self) -> Path:
        return self.root / QUALITY

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
    def generator_best(self) -> Path:
        return self.root / GENERATOR_BEST

    @property
    def best(self) -> Path:
        return self.root / BEST

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


# -- cleaning up, and the recipe ------------------------------------------------------------


def remove_leftovers(run_dir):
    """Remove the temp files a failed write left in a run directory (``atomic_path`` removes its own)."""
    files = RunDir(run_dir)
    for folder in (files.root, files.checkpoints, files.samples):
        if folder.is_dir():
            for leftover in leftover_temps(folder):
                leftover.unlink(missing_ok=True)


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


def write_recipe(recipe, run_dir, output_range, classes=None, image_shape=None, auto=None):
    """The resolved recipe with its provenance, G's output range, (conditional) class count and image shape.

    ``auto`` is the line saying what ``training.precision``/``jit_compile: auto`` decided
    (``ganlab.training.auto_config``); a resumed run's recipe is explicit already, so without
    one the line already stored is kept.
    """
    path = RunDir(run_dir).recipe
    stored = {**provenance(recipe), "output_range": list(output_range), "num_classes": classes}
    if image_shape is not None:  # lets sample and eval rebuild G from a checkpoint
        stored["image_shape"] = [int(d) for d in image_shape]
    auto = auto or (_stored_provenance(path).get("auto") if path.is_file() else None)
    if auto:
        stored["auto"] = auto
    text = dump_yaml({**recipe.data, "provenance": stored})
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def stored_output_range(recipe_path):
    """The generator's output range that ``write_recipe`` stored in a run's recipe.yaml."""
    return tuple(_stored_provenance(recipe_path).get("output_range", (-1.0, 1.0)))


def stored_image_shape(recipe_path):
    """The training images' shape as ``write_recipe`` stored it; None for runs written before it did."""
    shape = _stored_provenance(recipe_path).get("image_shape")
    ok = isinstance(shape, list) and len(shape) == 3 and all(isinstance(d, int) and d > 0 for d in shape)
    return tuple(shape) if ok else None


def stored_num_classes(recipe_path):
    """The class count of a conditional run, as ``write_recipe`` stored it; None if unconditional."""
    return _stored_provenance(recipe_path).get("num_classes")


def read_stored_recipe(recipe_path) -> dict:
    """A run's recipe.yaml as ``write_recipe`` wrote it; GanlabError naming the damage otherwise."""
    path = Path(recipe_path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, RecursionError, yaml.YAMLError) as exc:
        raise _damaged_recipe(path, f"it does not read as YAML: {one_line(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise _damaged_recipe(path, "it is not a mapping of sections")
    missing = [s for s in ("data", "generator", "discriminator", "loss", "training") if s not in data]
    if missing:
        raise _damaged_recipe(path, f"section{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing")
    training, provenance = data["training"], data.get("provenance") or {}
    latent = training.get("latent_dim") if isinstance(training, dict) else None
    if not (_number(latent) and isinstance(latent, int) and latent >= 1 and isinstance(training.get("noise"), str)):
        raise _damaged_recipe(path, "training.latent_dim or training.noise is missing or not a valid value")
    if not isinstance(provenance, dict):
        raise _damaged_recipe(path, "provenance is not a mapping")
    out_range, classes = provenance.get("output_range", [-1.0, 1.0]), provenance.get("num_classes")
    if (
        not (isinstance(out_range, list) and len(out_range) == 2 and all(_number(v) for v in out_range))
        or not (classes is None or (isinstance(classes, int) and classes > 0))
    ):
        raise _damaged_recipe(path, "provenance.output_range or provenance.num_classes is not a valid value")
    return data


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _damaged_recipe(path, what):
    return GanlabError(
        f"{path} is damaged ({what}); put back the recipe.yaml this run was trained with (from a copy), "
        "or train the recipe again"
    )


def _stored_provenance(recipe_path):
    return read_stored_recipe(recipe_path).get("provenance") or {}


# -- the best generator's record ------------------------------------------------------------

#: The fields of best.json: the ``output.keep_best`` setting, the metric's key in metrics.csv and
#: eval.json, its value, and the epoch and step whose generator generator_best.keras holds.
BEST_FIELDS = ("metric", "key", "value", "epoch", "step")


def write_best(run_dir, record: dict):
    """Write best.json (``BEST_FIELDS``) atomically."""
    with atomic_path(RunDir(run_dir).best) as tmp:
        tmp.write_text(json.dumps({k: record[k] for k in BEST_FIELDS}, indent=1) + "\n")


def read_best(run_dir) -> dict | None:
    """What generator_best.keras holds (best.json: ``BEST_FIELDS``), or None for a run without one.

    A damaged best.json is one GanlabError saying how to write it again.
    """
    path = RunDir(run_dir).best
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _damaged_best(path, one_line(exc)[:200]) from None
    if not isinstance(record, dict) or any(k not in record for k in BEST_FIELDS):
        raise _damaged_best(path, f"it does not hold {', '.join(BEST_FIELDS)}")
    return {k: record[k] for k in BEST_FIELDS}


def _damaged_best(path, what):
    return GanlabError(
        f"{path} is damaged ({what}); delete it and {GENERATOR_BEST} beside it (no other file of the run "
        "depends on them)"
    )


# -- saving and loading generators ------------------------------------------------------------


def save_model(model, path):
    """Save a Keras model to ``path`` (``.keras``), atomically."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def load_generator(path):
    """A saved generator; imports ganlab.training.layers first so that Keras can rebuild its HashDropout.

    A damaged file (cut short, zeroed, one byte changed: every member's CRC is checked
    first) is one GanlabError saying how to write it again.
    """
    import keras  # here, not at the top: see the module docstring

    import ganlab.training.layers  # noqa: F401  (registers ganlab's layers with Keras' deserialiser)

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise ValueError(f"member {bad} fails its CRC check")
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001  (whatever Keras raises for a broken file)
        raise GanlabError(
            f"{path} is damaged ({one_line(exc)[:200]}); delete it and run 'ganlab run --resume {path.parent}' "
            "to write it again from the last checkpoint"
        ) from None
