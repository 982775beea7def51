"""The one table of metric names: what ``ganlab eval``'s table shows, what the in-training
quality check (``output.eval_every``) logs, and so which quality columns metrics.csv has.

A row is a key of the score dicts (``ganlab.evaluation.scores``) and of eval.json, the
column title and number format of ``ganlab eval``'s table, and whether the metric is cheap
enough to compute during training. Not every extractor gives every metric (the ssl
encoder has no classes): a row's missing metrics print as "-" and are empty cells. A new
metric is a row here and its computation in ``scores``; the formulas are in docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str  # in the score dicts, eval.json, the epoch's logs and metrics.csv
    title: str  # the column title in ``ganlab eval``'s table
    format: str  # how the table prints a value
    quick: bool  # cheap enough for the in-training quality check (and so a metrics.csv column)


#: Every metric of ``ganlab eval``'s table, in column order.
METRICS = (
    Metric("classifier_score", "score", "{:.3f}", quick=True),  # the Inception Score under inception
    Metric("classes_covered", "classes", "{:d}", quick=True),
    Metric("kl_to_uniform", "KL(unif)", "{:.4f}", quick=True),
    Metric("fid", "FID", "{:.3f}", quick=True),
    Metric("kid_mean", "KID", "{:.5f}", quick=True),
    Metric("precision", "precision", "{:.3f}", quick=False),
    Metric("recall", "recall", "{:.3f}", quick=False),
)

#: The column a conditional run's table adds: the mean over the classes of per-class accuracy.
CONDITIONAL = Metric("mean_class_accuracy", "class acc", "{:.3f}", quick=False)

#: The keys the in-training quality check logs, in metrics.csv's column order.
QUICK = tuple(m.key for m in METRICS if m.quick)
