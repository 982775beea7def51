"""The one table of metric names: what the scores compute, ganlab eval's table, the quick
check's logs and metrics.csv's quality columns agree with it."""

import numpy as np

from ganlab.callbacks.metrics_csv import COLUMNS, QUALITY
from ganlab.evaluation.metric_table import CONDITIONAL, METRICS, QUICK
from ganlab.evaluation.report import table
from ganlab.evaluation.scores import conditional_score, quick_score, score


def random_scores(n=60, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(classes), n)
    return probs, rng.normal(size=(n, 5)), rng.normal(size=(n, 5)), classes


def test_the_quick_metrics_are_what_the_quick_score_gives_and_metrics_csv_records():
    assert QUICK == ("classifier_score", "classes_covered", "kl_to_uniform", "fid", "kid_mean")
    assert QUALITY == QUICK and COLUMNS[COLUMNS.index("classifier_score"):][: len(QUICK)] == QUICK
    assert set(quick_score(*random_scores())) == {*QUICK, "kid_std", "class_histogram"}


def test_an_extractor_without_classes_gives_the_feature_metrics_only():
    probs, features, reference, _ = random_scores()
    assert set(quick_score(None, features, reference)) == {"fid", "kid_mean", "kid_std"}
    # Inception's ImageNet probabilities: a score (the Inception Score), no classes of the data
    assert set(quick_score(probs, features, reference, None)) == {"fid", "kid_mean", "kid_std", "classifier_score"}


def test_every_metric_of_the_table_is_scored_and_the_keys_of_eval_json_stay():
    row = score(*random_scores(), seed=0)
    assert list(row) == [
        "fid", "kid_mean", "kid_std", "classifier_score", "classes_covered", "kl_to_uniform", "class_histogram",
        "precision", "recall",
    ]
    assert {m.key for m in METRICS} <= set(row)
    probs, _, _, classes = random_scores()
    requested = np.arange(len(probs)) % classes
    assert list(conditional_score(probs, requested, classes)) == ["class_accuracy", CONDITIONAL.key]


def test_the_eval_table_has_one_column_per_metric():
    rows = {"real_baseline": score(*random_scores(), seed=0), "generator": score(*random_scores(seed=1), seed=0)}
    extractor = {"extractor": "classifier", "hash": "abc", "held_out_accuracy": 0.5}
    result = {"n": 60, "seed": 0, "extractor": extractor, "reference": "r", "results": rows}
    assert "extractor classifier abc (held-out accuracy 0.5000)" in table(result)
    header = table(result).splitlines()[1]
    assert header.split() == [title for m in METRICS for title in m.title.split()]
    for name in rows:
        line = next(line for line in table(result).splitlines() if line.startswith(name))
        assert len(line.split()) == 1 + len(METRICS)


def test_the_eval_table_leaves_out_what_the_extractor_cannot_give():
    _, features, reference, _ = random_scores()
    rows = {"real_baseline": score(None, features, reference, None, seed=0)}
    rows["generator"] = {**score(None, features[::-1], reference, None, seed=0)}
    del rows["generator"]["recall"]  # a row without a metric the other has: "-"
    result = {"n": 60, "seed": 0, "extractor": {"extractor": "ssl", "hash": "def"}, "reference": "r", "results": rows}
    lines = table(result).splitlines()
    assert lines[1].split() == ["FID", "KID", "precision", "recall"]
    assert lines[3].split()[-1] == "-" and len(lines[2].split()) == 5
