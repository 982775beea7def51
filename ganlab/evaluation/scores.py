"""Scoring one set of images from the classifier's outputs: every metric (``score``), the
cheap ones for the in-training check (``quick_score``), and per-class accuracy for a
conditional run (``conditional_score``). The metrics' names are ``metric_table``'s."""

from __future__ import annotations

import numpy as np

from ganlab.evaluation import metrics


def score(probs, features, reference_features, num_classes, seed) -> dict:
    """Every metric for one set of images, against the reference features."""
    row = quick_score(probs, features, reference_features, num_classes)
    kid_mean, kid_std = metrics.kid(features, reference_features, seed=seed)
    precision, recall = metrics.precision_recall(reference_features, features, k=3)
    row.update(kid_mean=kid_mean, kid_std=kid_std, precision=precision, recall=recall)
    return row


def quick_score(probs, features, reference_features, num_classes) -> dict:
    """The metrics cheap enough to compute during training (``metric_table.QUICK``), and the class histogram."""
    coverage = metrics.mode_coverage(probs.argmax(axis=1), num_classes)
    return {
        "classifier_score": metrics.classifier_score(probs),
        "classes_covered": coverage["classes_covered"],
        "kl_to_uniform": coverage["kl_to_uniform"],
        "fid": metrics.fid(features, reference_features),
        "class_histogram": coverage["histogram"],
    }


def conditional_score(probs, requested, num_classes) -> dict:
    """Per-class accuracy of images of known (requested or true) classes, and its mean over the classes."""
    accuracy = metrics.class_accuracy(probs, requested, num_classes)
    return {"class_accuracy": accuracy, "mean_class_accuracy": float(np.nanmean(accuracy))}
