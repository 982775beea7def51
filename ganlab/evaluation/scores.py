"""Scoring one set of images from an extractor's outputs: every metric (``score``), the
cheap ones for the in-training check (``quick_score``), and per-class accuracy for a
conditional run (``conditional_score``). The metrics' names are ``metric_table``'s.

What a row holds depends on the extractor: features always give FID and KID (and, in
``score``, precision and recall); class probabilities give the score (the classifier
score, or the Inception Score for Inception's ImageNet classes); probabilities over the
dataset's own classes (``num_classes`` given) also give classes covered and KL to
uniform. A metric the extractor cannot give is absent from the row.
"""

from __future__ import annotations

import numpy as np

from ganlab.evaluation import metrics


def score(probs, features, reference_features, num_classes, seed) -> dict:
    """Every metric for one set of images, against the reference features."""
    row = quick_score(probs, features, reference_features, num_classes, seed)
    precision, recall = metrics.precision_recall(reference_features, features, k=3)
    row.update(precision=precision, recall=recall)
    return row


def quick_score(probs, features, reference_features, num_classes=None, seed=0) -> dict:
    """The metrics cheap enough to compute during training (``metric_table.QUICK``), and the class histogram.

    ``probs`` may be None (an extractor without classes); ``num_classes`` is the
    dataset's class count when ``probs`` ranges over those classes, else None.
    """
    kid_mean, kid_std = metrics.kid(features, reference_features, seed=seed)
    row = {"fid": metrics.fid(features, reference_features), "kid_mean": kid_mean, "kid_std": kid_std}
    if probs is not None:
        row["classifier_score"] = metrics.classifier_score(probs)
    if probs is not None and num_classes is not None:
        coverage = metrics.mode_coverage(probs.argmax(axis=1), num_classes)
        row.update(
            classes_covered=coverage["classes_covered"],
            kl_to_uniform=coverage["kl_to_uniform"],
            class_histogram=coverage["histogram"],
        )
    return row


def conditional_score(probs, requested, num_classes) -> dict:
    """Per-class accuracy of images of known (requested or true) classes, and its mean over the classes."""
    accuracy = metrics.class_accuracy(probs, requested, num_classes)
    return {"class_accuracy": accuracy, "mean_class_accuracy": float(np.nanmean(accuracy))}
