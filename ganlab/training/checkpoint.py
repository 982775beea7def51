"""Checkpoints: everything needed to continue a run exactly, in one file per save.

A checkpoint holds G's and D's variables (weights, batch-norm statistics, dropout seed
state), both optimizers' variables (step counters, Adam moments), the noise seed state,
ADA's state when on (``ganlab.training.ada``), and the epoch and step reached; with
``output.keep_best`` also the best quality check so far (its record in the metadata, and the
generator's variables then, so that a resume from any checkpoint writes generator_best.keras
as of that checkpoint). The data order needs no state: it is a function of (seed, step), see
:mod:`ganlab.training.stream`.

Files are written to a hidden temp file and renamed into place only once complete and
synced (``ganlab.rundir.atomic_path``), so a process killed mid-write leaves the previous
checkpoint usable; the next save removes what it left.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile

import numpy as np

from ganlab.errors import GanlabError
from ganlab.rundir import RunDir, atomic_path, leftover_temps
from ganlab.training import infogan

FORMAT = 1  # the checkpoint format; the recipe record and the best are optional parts of format 1
BEST_GROUP = "best_generator"  # the arrays of the best generator's variables
KEEP = 2  # the newest complete checkpoints kept; older ones are removed


def state_groups(model) -> dict:
    """The variables a checkpoint holds, by group, in a fixed order."""
    groups = {
        "generator": model.generator.variables,
        "discriminator": model.discriminator.variables,
        "noise": [model.noise_seed.state],
        "g_optimizer": model.g_optimizer.variables,
        "d_optimizer": model.d_optimizer.variables,
    }
    if model.ema_generator is not None:
        groups["ema_generator"] = model.ema_generator.variables
    if model.mode_head is not None:
        groups["mode_guess"] = model.mode_head.get_layer(infogan.HEAD).variables
    if model.ada is not None:
        groups["ada"] = model.ada.variables
    return groups


def save(model, run_dir, epoch: int, step: int, recipe=None, best=None):
    """Write a checkpoint; returns its path, or None (with a warning) when a variable is NaN or infinite.

    ``recipe`` (``ganlab.training.recipe_change.record``) goes into the metadata, so that a resume can tell an
    edited recipe.yaml from the one the checkpoint was trained with. ``best`` is ``(record, arrays)``: a
    JSON-able dict for the metadata and the best generator's variables (``read_best`` gives them back).
    """
    folder = RunDir(run_dir).checkpoints
    arrays = {
        f"{group}/{i:05d}": np.asarray(v.numpy())
        for group, variables in state_groups(model).items()
        for i, v in enumerate(variables)
    }
    if best is not None:
        arrays.update({f"{BEST_GROUP}/{i:05d}": np.asarray(a) for i, a in enumerate(best[1])})
    bad = non_finite(arrays)
    if bad:
        kept = latest(run_dir)
        warn(
            f"epoch {epoch}: {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} hold NaN or infinite values: "
            f"no checkpoint written; the newest stays {kept[0].name if kept else 'none'}"
        )
        return None
    meta = {"epoch": epoch, "step": step, "format": FORMAT}
    if recipe is not None:
        meta.update(recipe=recipe, fingerprint=fingerprint(recipe))
    if best is not None:
        meta["best"] = best[0]
    path = folder / f"epoch_{epoch:04d}.npz"
    with atomic_path(path, sync=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
    for old in sorted(folder.glob("epoch_*.npz"))[:-KEEP]:
        old.unlink()
    for leftover in leftover_temps(folder):  # from a process killed mid-write
        leftover.unlink()
    return path


def warn(message):
    print(f"ganlab: warning: {message}", file=sys.stderr, flush=True)


def non_finite(arrays) -> list:
    """The names of the float arrays holding NaN or infinite values."""
    return [k for k, a in arrays.items() if a.dtype.kind in "fc" and not np.isfinite(a).all()]


def fingerprint(record) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _valid(meta) -> dict:
    """The (epoch, step, format) metadata of a checkpoint; ValueError for a wrong type or a missing key."""
    if not isinstance(meta, dict):
        raise ValueError("its metadata is not a mapping")
    for key in ("epoch", "step"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"its metadata's {key} is {value!r}, not a whole number >= 0")
    if meta.get("format") != FORMAT:
        raise ValueError(f"its metadata's format is {meta.get('format')!r}; this ganlab reads format {FORMAT}")
    record = meta.get("recipe")
    if record is not None and (not isinstance(record, dict) or meta.get("fingerprint") != fingerprint(record)):
        raise ValueError("its recorded recipe does not match its fingerprint")
    if "best" in meta and not isinstance(meta["best"], dict):
        raise ValueError(f"its metadata's best is {meta['best']!r}, not a mapping")
    return meta


def _load_meta(path) -> dict:
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad:
                raise ValueError(f"corrupt member {bad}")
        with np.load(path) as f:
            return _valid(json.loads(str(f["__meta__"])))
    except (OSError, zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc


def read_meta(path) -> dict:
    """The metadata (epoch, step, format) of a complete checkpoint; raises ValueError for a damaged file."""
    meta = _load_meta(path)
    return {k: meta[k] for k in ("epoch", "step", "format")}


def read_recipe_record(path):
    """The recipe a checkpoint was trained with (``recipe_change.record``), or None for one written before
    ganlab recorded it."""
    return _load_meta(path).get("recipe")


def read_best(path):
    """``(record, arrays)`` as ``save`` was given them as ``best``; None for a checkpoint without one."""
    try:
        record = _load_meta(path).get("best")
    except ValueError as exc:
        raise GanlabError(f"{path} is damaged ({str(exc)[:200]}); delete it to resume from the one before") from None
    if record is None:
        return None
    with np.load(path) as f:
        arrays = [f[k] for k in sorted(k for k in f.files if k.startswith(BEST_GROUP + "/"))]
    return record, arrays


def latest(run_dir):
    """(path, meta) of the newest checkpoint that reads back completely with finite values, or None.

    A damaged or non-finite checkpoint is skipped with a warning naming it.
    """
    for path in sorted(RunDir(run_dir).checkpoints.glob("epoch_*.npz"), reverse=True):  # temp files are hidden
        try:
            meta = read_meta(path)
            with np.load(path) as f:
                bad = non_finite({k: f[k] for k in f.files if k != "__meta__"})
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            warn(f"skipping {path}: damaged ({str(exc)[:200]})")
            continue
        if bad:
            warn(f"skipping {path}: {', '.join(bad[:3])} hold NaN or infinite values")
            continue
        return path, meta
    return None


def restore(model, path) -> dict:
    """Load a checkpoint into ``model`` (built and compiled); returns its metadata."""
    try:
        meta = read_meta(path)
    except ValueError as exc:
        raise GanlabError(f"{path} is damaged ({str(exc)[:200]}); delete it to resume from the one before") from None
    with np.load(path) as f:
        for group, variables in state_groups(model).items():
            keys = sorted(k for k in f.files if k.startswith(group + "/"))
            if len(keys) != len(variables):
                raise GanlabError(
                    f"{path}: {group} has {len(keys)} variables, the recipe's model has {len(variables)}: "
                    "the checkpoint was written by a different model"
                )
            for key, variable in zip(keys, variables):
                value = f[key]
                if tuple(value.shape) != tuple(variable.shape):
                    raise GanlabError(
                        f"{path}: {key} has shape {value.shape}, the recipe's model expects {tuple(variable.shape)}"
                    )
                variable.assign(value)
    return meta


def model_from(run_dir, registry, image_shape, classes=None):
    """(model, checkpoint path): the run's model with its newest good checkpoint restored, for drawing
    from a run stopped before it wrote generator.keras; None when it has no checkpoint."""
    from ganlab.recipe.validate import load_recipe  # here: only sample and eval of such a run need them
    from ganlab.training.assemble import build_model

    found = latest(run_dir)
    if found is None:
        return None
    recipe = load_recipe(RunDir(run_dir).recipe, registry)
    model = build_model(recipe, tuple(image_shape), jit_compile=False, classes=classes)
    restore(model, found[0])
    return model, found[0]
