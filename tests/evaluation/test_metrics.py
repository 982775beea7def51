"""The metrics against closed forms and limiting cases."""

import numpy as np
import pytest

from ganlab.evaluation import metrics


def gaussian(n, mean, cov, seed):
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


def test_fid_of_a_set_against_itself_is_zero():
    x = gaussian(500, np.zeros(8), np.eye(8), seed=0)
    assert metrics.fid(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances():
    # diagonal covariances: Tr(C1 + C2 - 2 sqrt(C1 C2)) = sum (sqrt(s1) - sqrt(s2))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_matches_the_closed_form_for_a_rotated_covariance():
    # C2 = R C1 R^T with the same spectrum; C1 = I makes sqrt(C1^1/2 C2 C1^1/2) = sqrt(C2)
    rotation = np.linalg.qr(np.random.default_rng(1).normal(size=(4, 4)))[0]
    c2 = rotation @ np.diag([1.0, 2.0, 3.0, 4.0]) @ rotation.T
    expected = 4 + 10 - 2 * np.sum(np.sqrt([1.0, 2.0, 3.0, 4.0]))
    assert metrics.frechet_distance(np.zeros(4), np.eye(4), np.zeros(4), c2) == pytest.approx(expected, rel=1e-10)


def test_fid_between_sampled_gaussians_approaches_the_closed_form():
    mean_shift, scale = 0.5, 2.0
    a = gaussian(20000, np.zeros(4), np.eye(4), seed=2)
    b = gaussian(20000, np.full(4, mean_shift), scale * np.eye(4), seed=3)
    expected = 4 * mean_shift**2 + 4 * (1 - np.sqrt(scale)) ** 2
    assert metrics.fid(a, b) == pytest.approx(expected, rel=0.05)


def test_classifier_score_of_one_hot_predictions_over_k_classes_is_k():
    probs = np.eye(7)[np.arange(700) % 7]
    assert metrics.classifier_score(probs) == pytest.approx(7.0, rel=1e-12)


def test_classifier_score_of_one_class_or_uniform_predictions_is_one():
    assert metrics.classifier_score(np.eye(10)[np.zeros(50, int)]) == pytest.approx(1.0)
    assert metrics.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)


def test_mode_coverage_counts_classes_and_measures_collapse():
    even = metrics.mode_coverage(np.arange(1000) % 10, 10)
    assert even["classes_covered"] == 10 and even["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    collapsed = metrics.mode_coverage(np.zeros(100, int), 10)
    assert collapsed["classes_covered"] == 1 and collapsed["kl_to_uniform"] == pytest.approx(np.log(10))
    # 3% of the samples in class 9: below the 5% share, so not covered
    labels = np.concatenate([np.arange(970) % 9, np.full(30, 9)])
    assert metrics.mode_coverage(labels, 10)["classes_covered"] == 9


def test_kid_of_identical_distributions_is_near_zero_and_grows_with_a_shift():
    a = gaussian(1000, np.zeros(16), np.eye(16), seed=4)
    b = gaussian(1000, np.zeros(16), np.eye(16), seed=5)
    shifted = gaussian(1000, np.full(16, 0.5), np.eye(16), seed=6)
    same_mean, same_std = metrics.kid(a, b, subsets=20, subset_size=500)
    assert abs(same_mean) < 3 * same_std + 1e-3
    far_mean, _ = metrics.kid(a, shifted, subsets=20, subset_size=500)
    assert far_mean > 10 * abs(same_mean) and far_mean > 0.05


def test_precision_and_recall_of_identical_sets_are_one_and_of_disjoint_sets_zero():
    x = gaussian(600, np.zeros(5), np.eye(5), seed=7)
    assert metrics.precision_recall(x, x.copy(), k=3, batch=128) == (1.0, 1.0)
    far = x + 100.0
    assert metrics.precision_recall(x, far, k=3, batch=128) == (0.0, 0.0)


def test_precision_recall_tells_a_collapsed_generator_by_its_recall():
    real = gaussian(1000, np.zeros(2), np.eye(2), seed=8)
    collapsed = gaussian(1000, np.zeros(2), 0.01 * np.eye(2), seed=9)  # all near the mode
    precision, recall = metrics.precision_recall(real, collapsed, k=3)
    assert precision > 0.9 and recall < 0.3
