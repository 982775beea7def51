"""Evaluation: metrics, ganlab's classifier, the judge of a dataset's real images, and ``ganlab eval``."""
