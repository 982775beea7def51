"""What ``ganlab eval`` leaves: the plain-text table it prints, and eval.json, to which
every evaluation is appended. The table's columns are ``metric_table``'s; a metric the
extractor cannot give is left out of the table, or "-" where only some rows lack it."""

from __future__ import annotations

import json
from pathlib import Path

from ganlab.evaluation.metric_table import CONDITIONAL, METRICS
from ganlab.rundir import atomic_path


def table(result) -> str:
    """A plain-text table of one evaluation; a conditional run's adds per-class accuracy."""
    rows = result["results"]
    conditional = all("class_accuracy" in row for row in rows.values())
    columns = (*METRICS, CONDITIONAL) if conditional else METRICS
    lines = [
        f"n={result['n']} seed={result['seed']} {describe(result['extractor'])}; reference: {result['reference']}",
        f"{'':<15}" + "".join(f"{m.title:>11}" for m in columns if _shown(m, rows)),
    ]
    for name, row in rows.items():
        cells = (m.format.format(row[m.key]) if m.key in row else "-" for m in columns if _shown(m, rows))
        lines.append(f"{name:<15}" + "".join(f"{cell:>11}" for cell in cells))
    if conditional:
        classes = len(next(iter(rows.values()))["class_accuracy"])
        lines += [
            "per-class accuracy (images of class k that the classifier labels k):",
            f"{'':<15}" + "".join(f"{k:>7}" for k in range(classes)),
        ]
        for name, row in rows.items():
            lines.append(f"{name:<15}" + "".join(f"{value:>7.3f}" for value in row["class_accuracy"]))
    return "\n".join(lines)


def _shown(metric, rows):
    return any(metric.key in row for row in rows.values())


def describe(extractor: dict) -> str:
    """One phrase naming the extractor of an evaluation: which one, its identity, its accuracy."""
    name = extractor["extractor"]
    identity = extractor.get("hash") or extractor.get("sha256", "")[:16]
    text = f"extractor {name} {identity}".rstrip()
    if "held_out_accuracy" in extractor:
        text += f" (held-out accuracy {extractor['held_out_accuracy']:.4f})"
    if "resize" in extractor:
        text += f" (resize {extractor['resize']})"
    return text


def append_result(path, result):
    """Append ``result`` to the list of evaluations in the JSON file ``path`` (created if missing), atomically."""
    path = Path(path)
    history = json.loads(path.read_text()) if path.is_file() else []
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(history + [result], indent=2))
