"""The Python API: train a recipe, load a run, and draw, walk, score and export its generator, from
code or a notebook. ``ganlab run``, ``sample``, ``interpolate`` and ``eval`` are thin wrappers
around these functions (docs/api.md).

Errors are ``GanlabError`` with the command line's one-line messages. Importing this module
does not import TensorFlow: each function imports it when it gets that far, after checking
its input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ganlab.components.loading import load_registry
from ganlab.console import import_tensorflow_quietly
from ganlab.errors import GanlabError
from ganlab.evaluation.extractors import AUTO
from ganlab.recipe.validate import load_recipe, validate
from ganlab.recipe.yaml_io import parse_yaml
from ganlab.rundir import RunDir, read_stored_recipe

#: The source that errors in a recipe given as a dict or as YAML text name (and its run directories' prefix).
INLINE_SOURCE = "recipe"


def train(recipe, overrides=None, out=None) -> Run:
    """Train a recipe in a new run directory and return its ``Run``.

    ``recipe``: a path to a YAML file, the YAML text itself (a string with a line break or a
    ``": "``), or a dict of sections. ``overrides``: ``--set``-style ``"key.path=value"``
    strings (values are YAML), or a dict of key paths to values. ``out``: the run directory
    (default: ``<output.dir>/<recipe name>-<timestamp>``).
    """
    registry = load_registry()
    resolved = read_recipe(recipe, registry, overrides)
    _tensorflow()
    from ganlab.training.run import train as fit

    return Run(fit(resolved, out=out))


def resume(run_dir, overrides=None) -> Run:
    """Continue a run from its newest complete checkpoint (``overrides``: as for ``train``,
    e.g. ``{"training.epochs": 60}``) and return its ``Run``."""
    registry = load_registry()
    _tensorflow()
    from ganlab.training.run import resume as fit_on

    return Run(fit_on(run_dir, registry, override_strings(overrides)))


def load_run(path) -> Run:
    """The ``Run`` of a run directory: finished, stopped (drawn from its newest checkpoint) or resumed."""
    return Run(path)


def read_recipe(recipe, registry, overrides=None):
    """A validated ``Recipe`` from a path, YAML text or a dict, with ``overrides`` (see ``train``)."""
    overrides = override_strings(overrides)
    if isinstance(recipe, dict):
        return validate(recipe, registry, source=INLINE_SOURCE, overrides=overrides)
    if isinstance(recipe, str) and ("\n" in recipe or ": " in recipe):
        data, lines = parse_yaml(recipe, INLINE_SOURCE)
        return validate(data, registry, source=INLINE_SOURCE, lines=lines, overrides=overrides)
    if isinstance(recipe, (str, os.PathLike)):
        return load_recipe(recipe, registry, overrides)
    raise GanlabError(f"recipe: expected a file path, YAML text or a dict of sections, found {type(recipe).__name__}")


def override_strings(overrides) -> list[str]:
    """``--set`` strings from a list of them (one string counts as a list of one), or from a dict of
    key paths to values (written as JSON, which YAML reads back as the same value)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if not isinstance(overrides, dict):
        return list(overrides)

    def plain(value):
        if hasattr(value, "item"):  # a numpy scalar
            return value.item()
        raise TypeError

    found = []
    for key, value in overrides.items():
        try:
            found.append(f"{key}={json.dumps(value, default=plain)}")
        except (TypeError, ValueError):
            raise GanlabError(
                f"overrides: {key}: a {type(value).__name__} is not a recipe value "
                "(a number, text, true/false, None, or a list or dict of them)"
            ) from None
    return found


def evaluate(target, n=None, seed=0, extractor=AUTO, inception_weights=None, resize=None, images=None,
             overrides=None) -> dict:
    """``ganlab eval``: score a run's generators (or, with ``images``, an ``.npz`` of images made
    elsewhere, against the data of the run or recipe ``target``) beside the real baseline.

    The result is appended to ``RUN_DIR/eval.json`` (``IMAGES.eval.json``) and returned: ``results``
    maps each row (``real_baseline``, ``generator``, ...) to its metrics; the other keys say how it was
    measured. ``inception_weights`` and ``resize`` are for ``extractor="inception"`` only.
    """
    options = _extractor_options(extractor, inception_weights, resize)
    _check_target(target, images is not None)
    if images is not None and not os.path.isfile(images):
        raise GanlabError(f"--images {images}: no such file")
    _tensorflow()
    from ganlab.evaluation.evaluate import evaluate as score
    from ganlab.evaluation.evaluate import evaluate_images

    scoring = dict(n=n, seed=seed, overrides=override_strings(overrides), extractor=extractor, options=options)
    registry = load_registry()
    if images is not None:
        return evaluate_images(images, target, registry, **scoring)
    return score(target, registry, **scoring)


def train_extractor(target, extractor=AUTO, inception_weights=None, resize=None, overrides=None) -> dict:
    """``ganlab eval --train-extractor``: train (or find cached) the extractor for the data of a run
    or recipe ``target``; returns its provenance, with ``reference``, the reference set."""
    options = _extractor_options(extractor, inception_weights, resize)
    _check_target(target, True)
    _tensorflow()
    from ganlab.evaluation.evaluate import train_extractor as fit

    return fit(target, load_registry(), override_strings(overrides), extractor, options)


def _extractor_options(extractor, inception_weights, resize) -> dict:
    if extractor == "inception":
        return {"weights": inception_weights, "resize": resize or "clean"}
    given = [flag for flag, value in (("--inception-weights", inception_weights), ("--resize", resize)) if value]
    if given:
        raise GanlabError(f"{' and '.join(given)}: only for --extractor inception; remove it or add that flag")
    return {}


def _tensorflow():
    """Import TensorFlow as the command line does: its C++ start-up notes and log lines kept out
    (an explicit ``TF_CPP_MIN_LOG_LEVEL`` still wins)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import_tensorflow_quietly()


def _check_target(target, recipe_too):
    if not os.path.exists(target):
        raise GanlabError(f"{target}: no such run directory{' or recipe' if recipe_too else ''}")


class Run:
    """A run directory written by ``ganlab run`` (or ``train``): its recipe, generator and metrics.

    ``path``: the directory. ``recipe``: its recipe.yaml as a dict (every section resolved, and
    ``provenance``). The generator is loaded on first use and kept.
    """

    def __init__(self, path):
        self.path = Path(path)
        files = RunDir(self.path)
        if not self.path.is_dir():
            raise GanlabError(f"{self.path}: no such run directory")
        if not files.recipe.is_file():
            raise GanlabError(f"{self.path}: no {files.recipe.name}; is it a ganlab run directory?")
        self.recipe = read_stored_recipe(files.recipe)
        self._generator = None

    def __repr__(self):
        return f"Run({str(self.path)!r})"

    @property
    def generator(self):
        """G as a Keras model: generator.keras (EMA weights when the run had EMA), or for a run
        stopped before its final save, G from its newest checkpoint."""
        if self._generator is None:
            _tensorflow()
            from ganlab.sampling import generators

            self._generator = generators(self.path, extra=False)["generator"]
        return self._generator

    @property
    def metrics(self) -> list[dict]:
        """metrics.csv, one dict per epoch: ``epoch`` and ``step`` as int, ``health`` as str, the other
        columns as float (NaN where a column is empty that epoch, e.g. between quality checks)."""
        from ganlab.callbacks.metrics_csv import cell_float, read_rows

        def typed(key, text):
            if key in ("epoch", "step"):
                return int(text)
            return text if key == "health" else cell_float(text)

        return [{k: typed(k, v) for k, v in row.items()} for row in read_rows(RunDir(self.path).metrics)]

    def sample(self, n=64, seed=0, label=None, truncation=None, output=None):
        """``n`` images as a float32 array (n, height, width, channels) in [0, 1], drawn for the z of
        ``seed``; the same seed gives the same images. ``label``: a conditional run's class for every
        image (default: the classes in turn). ``truncation``: psi from 0 to 1 (None: none). ``output``:
        also write them as a .png grid or an .npz."""
        from ganlab.sampling import sample

        return sample(self.path, output, n, seed, label, truncation=truncation, load=lambda: self.generator)

    def interpolate(self, points=4, frames=16, seed=0, label=None, truncation=None, output=None, fps=12):
        """A closed walk through the ``points`` z that ``sample(points, seed=seed)`` draws: ``frames``
        images from each towards the next, as float32 (points x frames, height, width, channels) in
        [0, 1]; frame ``k * frames`` is sample k. ``output``: also write a .gif or .mp4 at ``fps``."""
        from ganlab.interpolate import interpolate

        return interpolate(
            self.path, output, points, frames, seed, label, truncation, fps, load=lambda: self.generator
        )

    def evaluate(self, **options) -> dict:
        """``ganlab eval`` on this run: the arguments and result of ``ganlab.api.evaluate``."""
        return evaluate(self.path, **options)

    def export(self, fmt, output=None) -> Path:
        """``ganlab export``: the generator as ``fmt`` (``savedmodel``, ``onnx`` or ``litert``) at
        ``output`` (default: RUN/export/...), checked against Keras on the same z, with its metadata
        JSON beside it; returns the artefact's path (docs/export.md)."""
        from ganlab.export.exporter import check, export_run

        check(self.path, fmt, output)  # bad input and missing extras before TensorFlow loads
        _tensorflow()
        return export_run(self.path, fmt, output)

    def resume(self, overrides=None) -> Run:
        """Continue training from the newest checkpoint (see ``ganlab.api.resume``)."""
        self._generator = None  # training writes a new one
        return resume(self.path, overrides)
