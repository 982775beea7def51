"""``ganlab eval``: sample quality measured with an extractor (ganlab's own classifier,
its ssl encoder or Inception), always beside the same numbers for real held-out images
(the split and the baseline: ``judge``).

A conditional run's generator draws the classes in turn (0, 1, ..., K-1, 0, ...), and
with the classifier every row also gets the per-class accuracy: the share of images of class k (requested
from G, or the true class of a real image) that the classifier labels k.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from ganlab.errors import GanlabError
from ganlab.evaluation.extractors import AUTO
from ganlab.evaluation.judge import Judge
from ganlab.evaluation.report import append_result
from ganlab.evaluation.scores import conditional_score
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


def train_extractor(target, registry, overrides=(), extractor=AUTO, options=None, log=print) -> dict:
    """Train (or find cached) the extractor for a recipe's or a run's dataset; report it."""
    target = Path(target)
    recipe = _finished_run(target, registry, overrides) if target.is_dir() else load_recipe(target, registry, overrides)
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
    rows = {"real_baseline": judge.score(h_probs, h_features, seed)}
    if classes is not None:
        rows["real_baseline"].update(conditional_score(h_probs, judge.held_out_labels[:n], classes))
    for name, generator in generators(run_dir, registry).items():
        images = draw(generator, n, training["latent_dim"], training["noise"], output_range, seed, labels=labels)
        probs, features = judge.extract(images)
        rows[name] = judge.score(probs, features, seed)
        if classes is not None:
            rows[name].update(conditional_score(probs, labels, classes))
    result = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "n": n,
        "seed": seed,
        "ema": training["ema"],
        "num_classes": run_classes,
        "extractor": judge.provenance(),
        "reference": f"{judge.reference_text}, first {n} used",
        "results": rows,
        "best": read_best(run_dir),  # the quality check generator_best.keras was saved at, if any
    }
    try:
        append_result(files.eval_results, result)
    except OSError as exc:
        raise GanlabError(
            f"{files.eval_results}: cannot write it ({exc.strerror or exc}); make {run_dir} writable to keep results"
        ) from None
    except ValueError as exc:  # json's JSONDecodeError: the file is damaged
        raise GanlabError(
            f"{files.eval_results} is damaged ({str(exc)[:200]}); move it aside and run ganlab eval again"
        ) from None
    return result
