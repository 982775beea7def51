"""Sample-quality metrics on classifier outputs, all in float64 numpy.

The formulas are written out in docs/metrics.md. Every function takes plain arrays
(probabilities, predicted labels or feature vectors), so each can be checked against a
closed form without a model.
"""

from __future__ import annotations

import numpy as np


def _xlogy_ratio(p, q):
    """Elementwise p * log(p / q), with 0 * log 0 = 0."""
    p = np.asarray(p, np.float64)
    q = np.broadcast_to(np.asarray(q, np.float64), p.shape)
    out = np.zeros_like(p)
    nonzero = p > 0
    out[nonzero] = p[nonzero] * np.log(p[nonzero] / q[nonzero])
    return out


def classifier_score(probs) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the "Inception score" with ganlab's own classifier.

    Ranges from 1 (every image gets the same prediction) to the number of classes
    (confident predictions, every class equally used).
    """
    probs = np.asarray(probs, np.float64)
    marginal = probs.mean(axis=0, keepdims=True)
    return float(np.exp(_xlogy_ratio(probs, marginal).sum(axis=1).mean()))


def mode_coverage(pred_labels, num_classes: int, min_share: float = 0.05) -> dict:
    """How the predicted classes of a sample set are spread: the mode-collapse signal.

    ``classes_covered`` counts classes with at least ``min_share`` of the samples;
    ``kl_to_uniform`` is KL(histogram || uniform), 0 for a perfectly even spread and
    log(num_classes) when every sample lands in one class.
    """
    counts = np.bincount(np.asarray(pred_labels, np.int64), minlength=num_classes)[:num_classes]
    histogram = counts / max(int(counts.sum()), 1)
    return {
        "classes_covered": int(np.sum(histogram >= min_share)),
        "kl_to_uniform": float(_xlogy_ratio(histogram, 1.0 / num_classes).sum()),
        "histogram": [float(h) for h in histogram],
    }


def class_accuracy(probs, requested, num_classes: int) -> list:
    """Per class k: the share of the images requested as class k that the classifier labels k.

    For a conditional G, ``requested`` are the labels it was asked for; for real images,
    their true labels (the classifier's own per-class accuracy, the ceiling). A class
    with no images requested is NaN.
    """
    predicted = np.asarray(probs, np.float64).argmax(axis=1)
    requested = np.asarray(requested)
    return [
        float(np.mean(predicted[requested == k] == k)) if np.any(requested == k) else float("nan")
        for k in range(num_classes)
    ]


def _sqrt_psd(matrix):
    """Symmetric square root of a positive semi-definite matrix via eigh."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2) for two Gaussians.

    Using the symmetric form C1^1/2 C2 C1^1/2 keeps every square root that of a
    symmetric PSD matrix, so eigh applies and no complex parts appear.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    root1 = _sqrt_psd(cov1)
    middle = root1 @ cov2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    value = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


def fid(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (unbiased covariances)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    return frechet_distance(a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False))


def kid(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """Kernel Inception distance: unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3.

    Averaged over ``subsets`` random subsets of ``min(subset_size, len(a), len(b))``
    points from each set; returns ``(mean, std)`` over the subsets.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    dim = a.shape[1]
    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    for i in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / dim + 1.0) ** 3
        kyy = (y @ y.T / dim + 1.0) ** 3
        kxy = (x @ y.T / dim + 1.0) ** 3
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        estimates[i] = within - 2.0 * kxy.mean()
    return float(estimates.mean()), float(estimates.std())


def _pairwise_sq_distances(x, y):
    return np.clip((x * x).sum(1)[:, None] - 2.0 * x @ y.T + (y * y).sum(1)[None, :], 0.0, None)


def _knn_radii(points, k, batch):
    """Squared distance from each point to its k-th nearest other point of the same set."""
    radii = np.empty(len(points))
    for start in range(0, len(points), batch):
        d = _pairwise_sq_distances(points[start : start + batch], points)
        # column k, not k-1: column 0 is the point itself at distance 0
        radii[start : start + batch] = np.partition(d, k, axis=1)[:, k]
    return radii


def _share_inside(queries, centres, radii, batch):
    """Share of queries within the k-NN ball of at least one centre."""
    inside = 0
    for start in range(0, len(queries), batch):
        d = _pairwise_sq_distances(queries[start : start + batch], centres)
        inside += int(np.any(d <= radii[None, :], axis=1).sum())
    return inside / len(queries)


def precision_recall(real_features, fake_features, k: int = 3, batch: int = 1000):
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls.

    Precision: share of fake samples inside the real manifold (the union of balls
    reaching each real point's k-th neighbour). Recall: the same with the roles swapped.
    """
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples in each set")
    precision = _share_inside(fake, real, _knn_radii(real, k, batch), batch)
    recall = _share_inside(real, fake, _knn_radii(fake, k, batch), batch)
    return precision, recall
