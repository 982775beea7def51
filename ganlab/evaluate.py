"""``ganlab eval``: sample quality measured with ganlab's own classifier, always beside
the same numbers for real held-out images.

The labelled real images of the run's dataset are split once, by a fixed seed, into
three disjoint parts: a reference set (R) that samples are compared with and a set of
held-out real images (H), each a quarter of the data but at most 10,000 images, and the
rest to train the classifier (C), which therefore never sees R or H. The
real-data baseline is H against R, computed exactly as the samples are, at the same
count: a number is only meaningful next to it. See docs/metrics.md for the formulas.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import numpy as np

from ganlab import metrics
from ganlab.errors import GanlabError

SPLIT_SEED = 0  # fixed, so every run of a dataset shares one classifier and one reference set
REFERENCE_MAX = 10_000  # the customary FID sample count; the rest trains the classifier
RESULTS = "eval.json"


def split_real(data):
    """(classifier part, reference part, held-out part) as (images, labels) pairs."""
    if data.labels is None:
        raise GanlabError("ganlab eval needs a dataset with labels (its classifier is trained on them)")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(data))
    part = min(len(order) // 4, REFERENCE_MAX)
    train = len(order) - 2 * part
    parts = order[:train], order[train : train + part], order[train + part :]
    return [(data.images[p], np.asarray(data.labels, np.int64)[p]) for p in parts]


def score(probs, features, reference_features, num_classes, seed) -> dict:
    """Every metric for one set of images, against the reference features."""
    coverage = metrics.mode_coverage(probs.argmax(axis=1), num_classes)
    kid_mean, kid_std = metrics.kid(features, reference_features, seed=seed)
    precision, recall = metrics.precision_recall(reference_features, features, k=3)
    return {
        "classifier_score": metrics.classifier_score(probs),
        "classes_covered": coverage["classes_covered"],
        "kl_to_uniform": coverage["kl_to_uniform"],
        "fid": metrics.fid(features, reference_features),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "class_histogram": coverage["histogram"],
    }


def generate(model_path, n, latent_dim, noise, output_range, seed):
    import keras

    from ganlab.run import fixed_z, to_unit

    generator = keras.models.load_model(model_path, compile=False)
    z = fixed_z(latent_dim, n, noise, seed)
    images = np.concatenate([np.asarray(generator(z[i : i + 500], training=False)) for i in range(0, n, 500)])
    return to_unit(images, output_range)


def evaluate(run_dir, registry, n=None, seed=0, log=print) -> dict:
    """Evaluate a finished run; appends the result to ``RUN_DIR/eval.json`` and returns it."""
    from ganlab import classifier
    from ganlab.recipe import load_recipe
    from ganlab.run import load_data

    run_dir = Path(run_dir)
    recipe_path = run_dir / "recipe.yaml"
    if not recipe_path.is_file() or not (run_dir / "generator.keras").is_file():
        raise GanlabError(f"{run_dir}: no recipe.yaml and generator.keras; evaluate a finished ganlab run")
    recipe = load_recipe(recipe_path, registry)
    data = load_data(recipe)
    (c_images, c_labels), (r_images, _), (h_images, h_labels) = split_real(data)
    available = len(r_images)
    n = available if n is None else n
    if not 1 <= n <= available:
        raise GanlabError(f"-n {n}: between 1 and {available} (the reference part of {len(data)} real images) samples can be compared")
    num_classes = int(c_labels.max()) + 1

    log(f"ganlab: classifier on {len(c_images)} real images (cached after the first use)")
    model, digest, path = classifier.load_or_train(c_images, c_labels)
    h_probs, h_features = classifier.predict(model, h_images[:n] / 255.0)
    _, r_features = classifier.predict(model, r_images[:n] / 255.0)
    accuracy = float(np.mean(h_probs.argmax(axis=1) == h_labels[:n]))

    training = recipe["training"]
    output_range = _output_range(recipe_path)
    rows = {"real_baseline": score(h_probs, h_features, r_features, num_classes, seed)}
    for name, file in (("generator", "generator.keras"), ("generator_raw", "generator_raw.keras")):
        if (run_dir / file).is_file():
            images = generate(run_dir / file, n, training["latent_dim"], training["noise"], output_range, seed)
            probs, features = classifier.predict(model, images)
            rows[name] = score(probs, features, r_features, num_classes, seed)
    result = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "n": n,
        "seed": seed,
        "ema": training["ema"],
        "classifier": {"hash": digest, "file": str(path), "trained_on": len(c_images), "held_out_accuracy": accuracy},
        "reference": f"{recipe['data']['name']}: {available} of {len(data)} real images (split seed {SPLIT_SEED}), first {n} used",
        "results": rows,
    }
    _append(run_dir / RESULTS, result)
    return result


def _output_range(recipe_path):
    import yaml

    stored = yaml.safe_load(recipe_path.read_text()) or {}
    return tuple(stored.get("provenance", {}).get("output_range", (-1.0, 1.0)))


def _append(path, result):
    history = json.loads(path.read_text()) if path.is_file() else []
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(history + [result], indent=2))
    os.replace(tmp, path)


COLUMNS = [
    ("classifier_score", "score", "{:.3f}"),
    ("classes_covered", "classes", "{:d}"),
    ("kl_to_uniform", "KL(unif)", "{:.4f}"),
    ("fid", "FID", "{:.3f}"),
    ("kid_mean", "KID", "{:.5f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
]


def table(result) -> str:
    """A plain-text table of one evaluation."""
    header = f"{'':<15}" + "".join(f"{title:>11}" for _, title, _ in COLUMNS)
    lines = [
        f"n={result['n']} seed={result['seed']} classifier {result['classifier']['hash']} "
        f"(held-out accuracy {result['classifier']['held_out_accuracy']:.4f}); reference: {result['reference']}",
        header,
    ]
    for name, row in result["results"].items():
        lines.append(f"{name:<15}" + "".join(f"{fmt.format(row[key]):>11}" for key, _, fmt in COLUMNS))
    return "\n".join(lines)
