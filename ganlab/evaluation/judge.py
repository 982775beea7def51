"""The judge of sample quality: an extractor and the real images it compares with.

The real images of the run's dataset are split once, by a fixed seed, into three
disjoint parts: a reference set (R) that samples are compared with and a set of held-out
real images (H), each a quarter of the data but at most 10,000 images, and the rest (C),
from which an extractor that learns (the classifier, the ssl encoder) learns and which
therefore never sees R or H. The split does not depend on the extractor, so every
extractor compares with the same R. The real-data baseline is H against R, computed
exactly as the samples are, at the same count: a number is only meaningful next to it.
See docs/metrics.md.
"""

from __future__ import annotations

import numpy as np

from ganlab.errors import GanlabError
from ganlab.evaluation import extractors
from ganlab.evaluation.scores import quick_score, score

SPLIT_SEED = 0  # fixed, so every run of a dataset shares one classifier and one reference set
REFERENCE_MAX = 10_000  # the customary FID sample count; the rest trains the classifier


def split_real(data):
    """(classifier part, reference part, held-out part) as (images, labels or None) pairs."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(data))
    part = min(len(order) // 4, REFERENCE_MAX)
    train = len(order) - 2 * part
    parts = order[:train], order[train : train + part], order[train + part :]
    labels = None if data.labels is None else np.asarray(data.labels, np.int64)
    return [(data.images[p], None if labels is None else labels[p]) for p in parts]


class Judge:
    """An extractor and the real reference and held-out images of one dataset.

    Building it prepares the extractor (``ganlab.evaluation.extractors``): trains the
    classifier or the ssl encoder on the dataset's classifier part, or loads the cached
    one, or loads Inception's weights.
    """

    def __init__(self, data, dataset_name, extractor=extractors.AUTO, options=None, log=print):
        kind = extractors.choose(extractor, data.labels is not None)
        parts = split_real(data)
        (c_images, c_labels), (self.reference_images, _), (self.held_out_images, self.held_out_labels) = parts
        if len(self.reference_images) < 2:
            raise GanlabError(
                f"dataset '{dataset_name}' has {len(data)} images: evaluation needs at least 8 "
                "(a quarter each for the reference and held-out parts)"
            )
        self.trained_on, self.total = len(c_images), len(data)
        self.reference_text = (
            f"{dataset_name}: {len(self.reference_images)} of {len(data)} real images (split seed {SPLIT_SEED})"
        )
        if kind.name != "inception":
            log(
                f"ganlab: {kind.name} extractor from {len(c_images)} real images of {dataset_name} "
                "(cached after the first use)"
            )
        part = extractors.RealPart(c_images, c_labels, dataset_name)
        self.extractor = extractors.prepare(kind.name, part, options, log)
        self.num_classes = None if c_labels is None else int(c_labels.max()) + 1
        self._reference = {}
        self._accuracy = None

    @property
    def data_classes(self):
        """The dataset's class count when the extractor's probabilities range over those classes, else None."""
        return self.num_classes if self.extractor.data_classes else None

    @property
    def available(self) -> int:
        return len(self.reference_images)

    def check_count(self, n):
        if not 1 < n <= self.available:
            raise GanlabError(
                f"-n {n}: between 2 and {self.available} (the reference part of {self.total} real images) "
                "samples can be compared"
            )

    def extract(self, images_unit):
        """(probabilities or None, features) of images in [0, 1]."""
        return self.extractor.extract(images_unit)

    def reference_features(self, n):
        if n not in self._reference:
            self._reference[n] = self.extract(self.reference_images[:n] / 255.0)[1]
        return self._reference[n]

    def held_out(self, n):
        """(probabilities, features) of the first n held-out real images; records the accuracy."""
        probs, features = self.extract(self.held_out_images[:n] / 255.0)
        if self.data_classes is not None:
            self._accuracy = float(np.mean(probs.argmax(axis=1) == self.held_out_labels[:n]))
        return probs, features

    def score(self, probs, features, seed):
        """Every metric of images with these extractor outputs, against the reference at the same count."""
        return score(probs, features, self.reference_features(len(features)), self.data_classes, seed)

    def quick_baseline(self, n, seed=0) -> dict:
        """The quick metrics of the first n held-out real images: what samples are read against."""
        return self.quick_row(self.held_out_images[:n] / 255.0, seed)

    def quick_row(self, images_unit, seed=0) -> dict:
        """The quick metrics (``metric_table.QUICK``) the extractor can give for images in [0, 1]."""
        probs, features = self.extract(images_unit)
        return quick_score(probs, features, self.reference_features(len(features)), self.data_classes, seed)

    def provenance(self) -> dict:
        """The extractor's record for eval.json, with held-out accuracy once ``held_out`` measured it."""
        record = self.extractor.provenance()
        if self._accuracy is not None:
            record["held_out_accuracy"] = self._accuracy
        return record
