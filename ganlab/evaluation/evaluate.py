"""``ganlab eval``: sample quality measured with an extractor (ganlab's own classifier,
its ssl encoder or Inception), always beside the same numbers for real held-out images
(the split and the baseline: ``judge``).

A conditional run's generator draws the classes in turn (0, 1, ..., K-1, 0, ...), and
with the classifier every row also gets the per-class accuracy: the share of images of class k (requested
from G, or the true class of a real image) that the classifier labels k.
"""

from __future__ import annotations

import datetime
import zipfile
from pathlib import Path

import numpy as np

from ganlab.errors import GanlabError, one_line
from ganlab.evaluation.extractors import AUTO
from ganlab.evaluation.judge import Judge
from ganlab.evaluation.report import append_result
from ganlab.evaluation.scores import conditional_score
from ganlab.model_card import write_model_card
from ganlab.recipe.validate import load_recipe
from ganlab.rundir import (
    RunDir,
    read_best,
    read_stored_recipe,
    stored_image_shape,
    stored_num_classes,
    stored_output_range,
)
from ganlab.sampling import check_seed, cycling_labels, draw, generators, missing_generator
from ganlab.training.assemble import load_data


def _finished_run(run_dir, registry, overrides=()):
    files = RunDir(run_dir)
    if not files.recipe.is_file():
        raise GanlabError(f"{run_dir}: no recipe.yaml and generator.keras; evaluate a finished ganlab run")
    if not files.generator.is_file() and not any(files.checkpoints.glob("epoch_*.npz")):
        raise missing_generator(run_dir, files)
    read_stored_recipe(files.recipe)  # a damaged file is one line saying so
    if not files.generator.is_file() and stored_image_shape(files.recipe) is None:
        raise missing_generator(run_dir, files)  # written before runs recorded what rebuilds G from a checkpoint
    return load_recipe(files.recipe, registry, overrides)


def _recipe_of(target, registry, overrides=()):
    """The recipe of a finished run directory, or of a recipe file."""
    target = Path(target)
    return _finished_run(target, registry, overrides) if target.is_dir() else load_recipe(target, registry, overrides)


def train_extractor(target, registry, overrides=(), extractor=AUTO, options=None, log=print) -> dict:
    """Train (or find cached) the extractor for a recipe's or a run's dataset; report it."""
    recipe = _recipe_of(target, registry, overrides)
    judge = Judge(load_data(recipe), recipe["data"]["name"], extractor, options, log=log)
    judge.held_out(len(judge.held_out_images))
    return {**judge.provenance(), "reference": judge.reference_text}


def evaluate(run_dir, registry, n=None, seed=0, overrides=(), extractor=AUTO, options=None, log=print) -> dict:
    """Evaluate a finished run; appends the result to ``RUN_DIR/eval.json`` and returns it."""
    files = RunDir(run_dir)
    check_seed(seed)
    recipe = _finished_run(run_dir, registry, overrides)
    judge = Judge(load_data(recipe), recipe["data"]["name"], extractor, options, log=log)
    n = judge.available if n is None else n
    judge.check_count(n)

    h_probs, h_features = judge.held_out(n)
    training = recipe["training"]
    output_range = stored_output_range(files.recipe)
    run_classes = stored_num_classes(files.recipe)  # a conditional G draws these classes in turn
    labels = None if run_classes is None else cycling_labels(n, run_classes)
    classes = run_classes if judge.data_classes else None  # per-class accuracy needs the data's own classes
    rows = {"real_baseline": _row(judge, h_probs, h_features, judge.held_out_labels[:n], classes, seed)}
    for name, generator in generators(run_dir, registry).items():
        images = draw(generator, n, training["latent_dim"], training["noise"], output_range, seed, labels=labels)
        rows[name] = _row(judge, *judge.extract(images), labels, classes, seed)
    result = _result(judge, n, seed, rows, ema=training["ema"], num_classes=run_classes, best=read_best(run_dir))
    _append(files.eval_results, result)
    write_model_card(run_dir)  # the card shows every evaluation
    return result


def evaluate_images(images_path, target, registry, n=None, seed=0, overrides=(), extractor=AUTO, options=None,
                    log=print) -> dict:
    """Score images made elsewhere (an .npz, e.g. another framework's samples) against the real
    data of a run directory or recipe, beside the real baseline, exactly as a run's samples are;
    appends the result to ``IMAGES.eval.json`` beside the file and returns it."""
    check_seed(seed)
    recipe = _recipe_of(target, registry, overrides)
    images, labels = read_images(images_path)
    judge = Judge(load_data(recipe), recipe["data"]["name"], extractor, options, log=log)
    shape = judge.reference_images.shape[1:]
    if images.shape[1:] != shape:
        raise GanlabError(
            f"{images_path}: images of shape {images.shape[1:]}, but {target}'s data has {shape}; "
            "resize them to the data's shape"
        )
    n = min(len(images), judge.available) if n is None else n
    judge.check_count(n)
    if n > len(images):
        raise GanlabError(f"-n {n}: {images_path} holds only {len(images)} images")
    classes = judge.data_classes if labels is not None else None
    h_probs, h_features = judge.held_out(n)
    labels = None if labels is None else labels[:n]
    rows = {"real_baseline": _row(judge, h_probs, h_features, judge.held_out_labels[:n], classes, seed)}
    rows[Path(images_path).stem] = _row(judge, *judge.extract(images[:n]), labels, classes, seed)
    result = _result(judge, n, seed, rows, images=str(images_path))
    _append(Path(images_path).with_suffix(".eval.json"), result)
    return result


def read_images(path):
    """(images in [0, 1] as float32, labels or None) from an .npz: ``images`` (uint8 0..255 or
    floats in [0, 1], shape (n, height, width, channels)) and optional ``labels``."""
    try:
        with np.load(path) as f:
            arrays = {key: f[key] for key in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise GanlabError(f"--images {path}: cannot read it as an .npz ({one_line(exc)[:200]})") from None
    images = arrays.get("images")
    if images is None or images.ndim != 4:
        raise GanlabError(
            f"--images {path}: expected an array 'images' of shape (n, height, width, channels), "
            f"found {', '.join(f'{k} {v.shape}' for k, v in arrays.items()) or 'no arrays'}"
        )
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255.0
    elif not (np.issubdtype(images.dtype, np.floating) and np.isfinite(images).all()
              and images.min() >= 0.0 and images.max() <= 1.0):
        raise GanlabError(f"--images {path}: 'images' must be uint8 (0..255) or finite floats in [0, 1]")
    labels = arrays.get("labels")
    return images.astype(np.float32), None if labels is None else np.asarray(labels, np.int64)


def _row(judge, probs, features, labels, classes, seed) -> dict:
    """Every metric of one set of images; per-class accuracy when their classes are known and judged."""
    row = judge.score(probs, features, seed)
    if classes is not None:
        row.update(conditional_score(probs, labels, classes))
    return row


def _result(judge, n, seed, rows, **fields) -> dict:
    return {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "n": n,
        "seed": seed,
        **fields,
        "extractor": judge.provenance(),
        "reference": f"{judge.reference_text}, first {n} used",
        "results": rows,
    }


def _append(path, result):
    try:
        append_result(path, result)
    except OSError as exc:
        raise GanlabError(
            f"{path}: cannot write it ({exc.strerror or exc}); make {path.parent} writable to keep results"
        ) from None
    except ValueError as exc:  # json's JSONDecodeError: the file is damaged
        raise GanlabError(f"{path} is damaged ({str(exc)[:200]}); move it aside and run ganlab eval again") from None
