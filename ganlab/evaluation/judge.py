"""The judge of sample quality: ganlab's classifier and the real images it compares with.

The labelled real images of the run's dataset are split once, by a fixed seed, into
three disjoint parts: a reference set (R) that samples are compared with and a set of
held-out real images (H), each a quarter of the data but at most 10,000 images, and the
rest to train the classifier (C), which therefore never sees R or H. The real-data
baseline is H against R, computed exactly as the samples are, at the same count: a number
is only meaningful next to it. See docs/metrics.md.
"""

from __future__ import annotations

import numpy as np

from ganlab.errors import GanlabError
from ganlab.evaluation import classifier

SPLIT_SEED = 0  # fixed, so every run of a dataset shares one classifier and one reference set
REFERENCE_MAX = 10_000  # the customary FID sample count; the rest trains the classifier


def split_real(data, dataset_name="the dataset"):
    """(classifier part, reference part, held-out part) as (images, labels) pairs."""
    if data.labels is None:
        raise GanlabError(
            f"dataset '{dataset_name}' has no labels: ganlab eval and output.eval_every need them "
            "to train ganlab's classifier"
        )
    order = np.random.default_rng(SPLIT_SEED).permutation(len(data))
    part = min(len(order) // 4, REFERENCE_MAX)
    train = len(order) - 2 * part
    parts = order[:train], order[train : train + part], order[train + part :]
    return [(data.images[p], np.asarray(data.labels, np.int64)[p]) for p in parts]


class Judge:
    """The classifier and the real reference and held-out images of one dataset.

    Building it trains the classifier on the dataset's classifier part, or loads the
    cached one (see ``ganlab.evaluation.classifier.load_or_train``).
    """

    def __init__(self, data, dataset_name, log=print):
        parts = split_real(data, dataset_name)
        (c_images, c_labels), (self.reference_images, _), (self.held_out_images, self.held_out_labels) = parts
        self.num_classes = int(c_labels.max()) + 1
        self.trained_on, self.total = len(c_images), len(data)
        self.reference_text = (
            f"{dataset_name}: {len(self.reference_images)} of {len(data)} real images (split seed {SPLIT_SEED})"
        )
        log(f"ganlab: classifier on {len(c_images)} real images of {dataset_name} (cached after the first use)")
        model, self.digest, self.path = classifier.load_or_train(c_images, c_labels, verbose=2 if log is print else 0)
        self.head = classifier.head(model)
        self._reference = {}

    @property
    def available(self) -> int:
        return len(self.reference_images)

    def check_count(self, n):
        if not 1 <= n <= self.available:
            raise GanlabError(
                f"-n {n}: between 1 and {self.available} (the reference part of {self.total} real images) "
                "samples can be compared"
            )

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
        return {
            "hash": self.digest, "file": str(self.path), "trained_on": self.trained_on, "held_out_accuracy": accuracy
        }
