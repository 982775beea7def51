"""What a resumed (or restarted multi-worker) run may change in its recipe, and the refusal that
names what differs: the training length (with the early-stopping patience) and where it trains,
nothing else."""

from __future__ import annotations

import json

from ganlab.errors import GanlabError
from ganlab.training import checkpoint

#: Keys a resumed run may change: how long to train (and how long without improving), and (any
#: ``distribute`` key) on what. ``output.keep_best`` and ``output.extractor`` may not: the best so far
#: was measured with them.
RESUMABLE_CHANGES = {"training.epochs", "training.steps", "training.early_stop"}

#: How refusals name what may change.
MAY_CHANGE = "only training.epochs/steps/early_stop and distribute settings may change"


def flatten(data, prefix="") -> dict:
    out = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def changed_keys(old: dict, new: dict) -> list:
    """Key paths whose values differ between two recipes, except those a resumed run may change."""
    old, new = flatten(old), flatten(new)
    return sorted(
        k
        for k in set(old) | set(new)
        if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES and not k.startswith("distribute.")
    )


def may_change(key) -> bool:
    """Whether a resumed run may change ``key`` (``provenance`` is ganlab's record, not a setting)."""
    return key in RESUMABLE_CHANGES or key.startswith(("distribute.", "provenance."))


def record(recipe) -> dict:
    """What each checkpoint records of ``recipe``: every resolved value a resume must not change,
    as flat ``key.path: value`` pairs of JSON values (so that they read back as written)."""
    plain = json.loads(json.dumps(recipe.data, default=str))
    return {key: value for key, value in flatten(plain).items() if not may_change(key)}


def check_record(run_dir, path, recipe, flag="--resume", what="recipe.yaml"):
    """Refuse to resume from ``path`` with a recipe other than the one it was trained with."""
    then = checkpoint.read_recipe_record(path)
    if then is None:  # written before checkpoints recorded their recipe
        return
    now = record(recipe)
    differ = sorted(k for k in then if then[k] != now.get(k))
    if differ:
        shown = ", ".join(f"{k} ({_short(then[k])} there, {_short(now.get(k))} now)" for k in differ[:6])
        raise GanlabError(
            f"{flag} {run_dir}: {what} differs from the recipe {path.name} was trained with: {shown}"
            f"{' ...' if len(differ) > 6 else ''}; put those values back ({MAY_CHANGE}, with --set)"
        )


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
