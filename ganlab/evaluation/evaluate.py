"""``ganlab eval``: sample quality measured with ganlab's own classifier, always beside
the same numbers for real held-out images.

The labelled real images of the run's dataset are split once, by a fixed seed, into
three disjoint parts: a reference set (R) that samples are compared with and a set of
held-out real images (H), each a quarter of the data but at most 10,000 images, and the
rest to train the classifier (C), which therefore never sees R or H. The
real-data baseline is H against R, computed exactly as the samples are, at the same
count: a number is only meaningful next to it. See docs/metrics.md for the formulas.

A conditional run's generator draws the classes in turn (0, 1, ..., K-1, 0, ...), and
every row also gets the per-class accuracy: the share of images of class k (requested
from G, or the true class of a real image) that the classifier labels k.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np

from ganlab.errors import GanlabError
from ganlab.evaluation import classifier, metrics
from ganlab.images import atomic_path
from ganlab.recipe.validate import load_recipe
from ganlab.rundir import load_generator, stored_num_classes, stored_output_range
from ganlab.sampling import cycling_labels, draw
from ganlab.training.assemble import load_data

SPLIT_SEED = 0  # fixed, so every run of a dataset shares one classifier and one reference set
REFERENCE_MAX = 10_000  # the customary FID sample count; the rest trains the classifier
RESULTS = "eval.json"


def split_real(data, dataset_name="the dataset"):
    """(classifier part, reference part, held-out part) as (images, labels) pairs."""
    if data.labels is None:
        raise GanlabError(f"dataset '{dataset_name}' has no labels: ganlab eval and output.eval_every need them to train ganlab's classifier")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(data))
    part = min(len(order) // 4, REFERENCE_MAX)
    train = len(order) - 2 * part
    parts = order[:train], order[train : train + part], order[train + part :]
    return [(data.images[p], np.asarray(data.labels, np.int64)[p]) for p in parts]


def score(probs, features, reference_features, num_classes, seed) -> dict:
    """Every metric for one set of images, against the reference features."""
    row = quick_score(probs, features, reference_features, num_classes)
    kid_mean, kid_std = metrics.kid(features, reference_features, seed=seed)
    precision, recall = metrics.precision_recall(reference_features, features, k=3)
    row.update(kid_mean=kid_mean, kid_std=kid_std, precision=precision, recall=recall)
    return row


def quick_score(probs, features, reference_features, num_classes) -> dict:
    """The metrics cheap enough to compute during training."""
    coverage = metrics.mode_coverage(probs.argmax(axis=1), num_classes)
    return {
        "classifier_score": metrics.classifier_score(probs),
        "classes_covered": coverage["classes_covered"],
        "kl_to_uniform": coverage["kl_to_uniform"],
        "fid": metrics.fid(features, reference_features),
        "class_histogram": coverage["histogram"],
    }


class Judge:
    """The classifier and the real reference and held-out images of one dataset.

    Building it trains the classifier on the dataset's classifier part, or loads the
    cached one (see ``ganlab.evaluation.classifier.load_or_train``).
    """

    def __init__(self, data, dataset_name, log=print):
        (c_images, c_labels), (self.reference_images, _), (self.held_out_images, self.held_out_labels) = split_real(data, dataset_name)
        self.num_classes = int(c_labels.max()) + 1
        self.trained_on, self.total = len(c_images), len(data)
        self.reference_text = f"{dataset_name}: {len(self.reference_images)} of {len(data)} real images (split seed {SPLIT_SEED})"
        log(f"ganlab: classifier on {len(c_images)} real images of {dataset_name} (cached after the first use)")
        model, self.digest, self.path = classifier.load_or_train(c_images, c_labels, verbose=2 if log is print else 0)
        self.head = classifier.head(model)
        self._reference = {}

    @property
    def available(self) -> int:
        return len(self.reference_images)

    def check_count(self, n):
        if not 1 <= n <= self.available:
            raise GanlabError(f"-n {n}: between 1 and {self.available} (the reference part of {self.total} real images) samples can be compared")

    def classify(self, images_unit):
        return classifier.predict(self.head, images_unit)

    def reference_features(self, n):
        if n not in self._reference:
            self._reference[n] = self.classify(self.reference_images[:n] / 255.0)[1]
        return self._reference[n]

    def held_out(self, n):
        """(probabilities, features, accuracy) of the first n held-out real images."""
        probs, features = self.classify(self.held_out_images[:n] / 255.0)
        return probs, features, float(np.mean(probs.argmax(axis=1) == self.held_out_labels[:n]))

    def provenance(self, accuracy) -> dict:
        return {"hash": self.digest, "file": str(self.path), "trained_on": self.trained_on, "held_out_accuracy": accuracy}


def _finished_run(run_dir, registry, overrides=()):
    run_dir = Path(run_dir)
    recipe_path = run_dir / "recipe.yaml"
    if not recipe_path.is_file() or not (run_dir / "generator.keras").is_file():
        raise GanlabError(f"{run_dir}: no recipe.yaml and generator.keras; evaluate a finished ganlab run")
    return load_recipe(recipe_path, registry, overrides)


def train_classifier(target, registry, overrides=(), log=print) -> dict:
    """Train (or find cached) the classifier for a recipe's or a run's dataset; report it."""
    target = Path(target)
    recipe = _finished_run(target, registry, overrides) if target.is_dir() else load_recipe(target, registry, overrides)
    judge = Judge(load_data(recipe), recipe["data"]["name"], log=log)
    _, _, accuracy = judge.held_out(len(judge.held_out_images))
    return {**judge.provenance(accuracy), "reference": judge.reference_text}


def evaluate(run_dir, registry, n=None, seed=0, overrides=(), log=print) -> dict:
    """Evaluate a finished run; appends the result to ``RUN_DIR/eval.json`` and returns it."""
    run_dir = Path(run_dir)
    recipe = _finished_run(run_dir, registry, overrides)
    judge = Judge(load_data(recipe), recipe["data"]["name"], log=log)
    n = judge.available if n is None else n
    judge.check_count(n)

    h_probs, h_features, accuracy = judge.held_out(n)
    reference = judge.reference_features(n)
    training = recipe["training"]
    output_range = stored_output_range(run_dir / "recipe.yaml")
    classes = stored_num_classes(run_dir / "recipe.yaml")
    labels = None if classes is None else cycling_labels(n, classes)
    rows = {"real_baseline": score(h_probs, h_features, reference, judge.num_classes, seed)}
    if classes is not None:
        rows["real_baseline"].update(conditional_score(h_probs, judge.held_out_labels[:n], classes))
    for name, file in (("generator", "generator.keras"), ("generator_raw", "generator_raw.keras")):
        if (run_dir / file).is_file():
            generator = load_generator(run_dir / file)
            images = draw(generator, n, training["latent_dim"], training["noise"], output_range, seed, labels=labels)
            probs, features = judge.classify(images)
            rows[name] = score(probs, features, reference, judge.num_classes, seed)
            if classes is not None:
                rows[name].update(conditional_score(probs, labels, classes))
    result = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "n": n,
        "seed": seed,
        "ema": training["ema"],
        "num_classes": classes,
        "classifier": judge.provenance(accuracy),
        "reference": f"{judge.reference_text}, first {n} used",
        "results": rows,
    }
    _append(run_dir / RESULTS, result)
    return result


def conditional_score(probs, requested, num_classes) -> dict:
    """Per-class accuracy of images of known (requested or true) classes, and its mean over the classes."""
    accuracy = metrics.class_accuracy(probs, requested, num_classes)
    return {"class_accuracy": accuracy, "mean_class_accuracy": float(np.nanmean(accuracy))}


def _append(path, result):
    history = json.loads(path.read_text()) if path.is_file() else []
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(history + [result], indent=2))


COLUMNS = [
    ("classifier_score", "score", "{:.3f}"),
    ("classes_covered", "classes", "{:d}"),
    ("kl_to_uniform", "KL(unif)", "{:.4f}"),
    ("fid", "FID", "{:.3f}"),
    ("kid_mean", "KID", "{:.5f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
]


#: The column a conditional run's table adds: the mean over the classes of per-class accuracy.
CONDITIONAL_COLUMN = ("mean_class_accuracy", "class acc", "{:.3f}")


def table(result) -> str:
    """A plain-text table of one evaluation; a conditional run's adds per-class accuracy."""
    rows = result["results"]
    conditional = all("class_accuracy" in row for row in rows.values())
    columns = COLUMNS + [CONDITIONAL_COLUMN] if conditional else COLUMNS
    lines = [
        f"n={result['n']} seed={result['seed']} classifier {result['classifier']['hash']} "
        f"(held-out accuracy {result['classifier']['held_out_accuracy']:.4f}); reference: {result['reference']}",
        f"{'':<15}" + "".join(f"{title:>11}" for _, title, _ in columns),
    ]
    for name, row in rows.items():
        lines.append(f"{name:<15}" + "".join(f"{fmt.format(row[key]):>11}" for key, _, fmt in columns))
    if conditional:
        classes = len(next(iter(rows.values()))["class_accuracy"])
        lines += ["per-class accuracy (images of class k that the classifier labels k):", f"{'':<15}" + "".join(f"{k:>7}" for k in range(classes))]
        lines += [f"{name:<15}" + "".join(f"{value:>7.3f}" for value in row["class_accuracy"]) for name, row in rows.items()]
    return "\n".join(lines)
