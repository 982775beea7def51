"""Evaluation: metrics, ganlab's classifier, the judge of a dataset's real images, the scores,
the one table of metric names, the report (table and eval.json), and ``ganlab eval``."""
