"""What ``ganlab eval`` leaves: the plain-text table it prints, and eval.json, to which
every evaluation is appended. The table's columns are ``metric_table``'s."""

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
        f"n={result['n']} seed={result['seed']} classifier {result['classifier']['hash']} "
        f"(held-out accuracy {result['classifier']['held_out_accuracy']:.4f}); reference: {result['reference']}",
        f"{'':<15}" + "".join(f"{m.title:>11}" for m in columns),
    ]
    for name, row in rows.items():
        lines.append(f"{name:<15}" + "".join(f"{m.format.format(row[m.key]):>11}" for m in columns))
    if conditional:
        classes = len(next(iter(rows.values()))["class_accuracy"])
        lines += [
            "per-class accuracy (images of class k that the classifier labels k):",
            f"{'':<15}" + "".join(f"{k:>7}" for k in range(classes)),
        ]
        for name, row in rows.items():
            lines.append(f"{name:<15}" + "".join(f"{value:>7.3f}" for value in row["class_accuracy"]))
    return "\n".join(lines)


def append_result(path, result):
    """Append ``result`` to the list of evaluations in the JSON file ``path`` (created if missing), atomically."""
    path = Path(path)
    history = json.loads(path.read_text()) if path.is_file() else []
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(history + [result], indent=2))
