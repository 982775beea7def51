"""Checkpoints: everything needed to continue a run exactly, in one file per save.

A checkpoint holds G's and D's variables (weights, batch-norm statistics, dropout seed
state), both optimizers' variables (step counters, Adam moments), the noise seed state,
and the epoch and step reached. The data order needs no state: it is a function of
(seed, step), see :mod:`ganlab.training.stream`.

Files are written to a hidden temp file and renamed into place only once complete and
synced (``ganlab.rundir.atomic_path``), so a process killed mid-write leaves the previous
checkpoint usable; the next save removes what it left.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ganlab.errors import GanlabError
from ganlab.rundir import RunDir, atomic_path, leftover_temps
from ganlab.training import infogan

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
    return groups


def save(model, run_dir, epoch: int, step: int) -> Path:
    folder = RunDir(run_dir).checkpoints
    arrays = {
        f"{group}/{i:05d}": np.asarray(v.numpy())
        for group, variables in state_groups(model).items()
        for i, v in enumerate(variables)
    }
    meta = {"epoch": epoch, "step": step, "format": 1}
    path = folder / f"epoch_{epoch:04d}.npz"
    with atomic_path(path, sync=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
    for old in sorted(folder.glob("epoch_*.npz"))[:-KEEP]:
        old.unlink()
    for leftover in leftover_temps(folder):  # from a process killed mid-write
        leftover.unlink()
    return path


def read_meta(path) -> dict:
    """The metadata of a complete checkpoint; raises ValueError for a damaged file."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad:
                raise ValueError(f"corrupt member {bad}")
        with np.load(path) as f:
            return json.loads(str(f["__meta__"]))
    except (OSError, zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from exc


def latest(run_dir):
    """(path, meta) of the newest checkpoint that reads back completely, or None."""
    for path in sorted(RunDir(run_dir).checkpoints.glob("epoch_*.npz"), reverse=True):  # temp files are hidden
        try:
            return path, read_meta(path)
        except ValueError:
            continue
    return None


def restore(model, path) -> dict:
    """Load a checkpoint into ``model`` (built and compiled); returns its metadata."""
    with np.load(path) as f:
        meta = json.loads(str(f["__meta__"]))
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
