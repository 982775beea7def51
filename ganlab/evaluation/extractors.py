"""The table of feature extractors: what turns images into the features (and, for some,
class probabilities) that every metric of ``ganlab eval`` and ``output.eval_every`` is
computed from.

A row names an extractor, the module that prepares it (imported only when used: each
imports Keras or TensorFlow), and whether it needs labelled data. A module's
``prepare(part, options, log)`` receives the classifier part of the real data (``RealPart``;
never the reference or held-out images) and returns an object with

- ``extract(images_unit) -> (probs or None, features)``: float64 arrays for images in [0, 1],
  ``(n, k)`` class probabilities and ``(n, d)`` features;
- ``data_classes``: True when ``probs`` ranges over the dataset's own classes (then the
  judge reports accuracy, classes covered and per-class accuracy);
- ``provenance() -> dict``: what eval.json records so that a number can be traced to the
  exact network, its weights and its preprocessing.

A new extractor is one row here and one module with ``prepare``; see docs/metrics.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ganlab.errors import GanlabError

if TYPE_CHECKING:  # numpy stays out of the CLI's start-up, which reads NAMES
    import numpy as np


@dataclass(frozen=True)
class ExtractorKind:
    name: str
    module: str  # defines prepare(part, options, log)
    needs_labels: bool
    help: str


#: Every extractor ``ganlab eval --extractor`` and ``output.extractor`` accept.
EXTRACTORS = (
    ExtractorKind(
        "classifier",
        "ganlab.evaluation.classifier",
        True,
        "a CNN ganlab trains on the dataset's labelled classifier part (any size and channel count)",
    ),
    ExtractorKind(
        "ssl",
        "ganlab.evaluation.ssl",
        False,
        "a contrastive (SimCLR-style) encoder ganlab trains on the classifier part without labels",
    ),
    ExtractorKind(
        "inception",
        "ganlab.evaluation.inception",
        False,
        "the Inception network of published FIDs (Heusel et al. 2017), 1- or 3-channel images",
    ),
)

NAMES = tuple(kind.name for kind in EXTRACTORS)
#: Chooses ``classifier`` for labelled data and ``ssl`` for unlabelled data.
AUTO = "auto"


class RealPart(NamedTuple):
    """The real images an extractor may learn from: the judge's classifier part."""

    images: np.ndarray  # uint8 (n, height, width, channels)
    labels: np.ndarray | None  # int64 (n,), or None for unlabelled data
    dataset_name: str


def choose(name: str, has_labels: bool) -> ExtractorKind:
    """The row for ``name`` (``auto``: classifier with labels, else ssl); unknown names are one line."""
    if name == AUTO:
        name = "classifier" if has_labels else "ssl"
    for kind in EXTRACTORS:
        if kind.name == name:
            return kind
    raise GanlabError(f"unknown extractor '{name}': choose one of {', '.join((AUTO, *NAMES))}")


def prepare(name: str, part: RealPart, options: dict | None = None, log=print):
    """The extractor ``name`` ready to use on images of ``part``'s shape."""
    kind = choose(name, part.labels is not None)
    if kind.needs_labels and part.labels is None:
        raise GanlabError(
            f"extractor '{kind.name}' needs labels and dataset '{part.dataset_name}' has none: "
            "use --extractor ssl or inception (output.extractor in a recipe)"
        )
    return importlib.import_module(kind.module).prepare(part, dict(options or {}), log)
