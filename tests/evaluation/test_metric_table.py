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
    assert QUICK == ("classifier_score", "classes_covered", "kl_to_uniform", "fid")
    assert QUALITY == QUICK and COLUMNS[COLUMNS.index("classifier_score"):][: len(QUICK)] == QUICK
    assert set(quick_score(*random_scores())) == {*QUICK, "class_histogram"}


def test_every_metric_of_the_table_is_scored_and_the_keys_of_eval_json_stay():
    row = score(*random_scores(), seed=0)
    assert list(row) == [
        "classifier_score", "classes_covered", "kl_to_uniform", "fid", "class_histogram",
        "kid_mean", "kid_std", "precision", "recall",
    ]
    assert {m.key for m in METRICS} <= set(row)
    probs, _, _, classes = random_scores()
    requested = np.arange(len(probs)) % classes
    assert list(conditional_score(probs, requested, classes)) == ["class_accuracy", CONDITIONAL.key]


def test_the_eval_table_has_one_column_per_metric():
    rows = {"real_baseline": score(*random_scores(), seed=0), "generator": score(*random_scores(seed=1), seed=0)}
    classifier = {"hash": "abc", "held_out_accuracy": 0.5}
    result = {"n": 60, "seed": 0, "classifier": classifier, "reference": "r", "results": rows}
    header = table(result).splitlines()[1]
    assert header.split() == [title for m in METRICS for title in m.title.split()]
    for name in rows:
        line = next(line for line in table(result).splitlines() if line.startswith(name))
        assert len(line.split()) == 1 + len(METRICS)
