"""MODEL_CARD.md: what a run directory holds, in one page a person can read or publish.

The card is written at the end of every training run and again after each ``ganlab eval``,
from the run's own files only (recipe.yaml with its provenance, metrics.csv, eval.json,
best.json, the sample grids): the model and its recipe, the data and where it came from,
how long it trained, every evaluation with its extractor and reference, the newest sample
grid, and what the generator is for and not for. Rewriting it is cheap and atomic, so it
never disagrees with the files it describes for long.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from ganlab import __version__
from ganlab.callbacks.metrics_csv import cell_float, read_rows
from ganlab.evaluation.report import describe, table
from ganlab.rundir import EVAL, LOSSES, METRICS, REAL, RECIPE, RunDir, atomic_path, read_best, read_stored_recipe

MODEL_CARD = "MODEL_CARD.md"

#: The recipe keys the card lists (section, key); the full recipe is linked.
KEY_SETTINGS = (
    ("training", "epochs"), ("training", "steps"), ("training", "batch_size"), ("training", "d_steps"),
    ("training", "latent_dim"), ("training", "noise"), ("training", "optimizer"), ("training", "ema"),
    ("training", "precision"), ("training", "diffaugment"), ("training", "ada_target"),
    ("training", "info_modes"), ("training", "seed"),
)

LIMITS = """\
This generator draws images that resemble its training data, and nothing else: it has no
notion of what they depict. Intended use: research and teaching on generative models,
data-augmentation experiments, and comparing training recipes.

- Its images carry the biases and gaps of the training data, and a small data set can be
  partly memorised: check samples against the data before sharing them as "new".
- The evaluation numbers compare runs only under the same extractor, reference set and
  sample count (listed with each row); they are not a measure of realism for people.
- Not for making images presented as real photographs or records, nor for any decision
  about a person.
"""


def progress(run_dir) -> dict:
    """How far the run trained, from the last row of metrics.csv: epoch, step, wall seconds (None if no row)."""
    rows = read_rows(RunDir(run_dir).metrics)
    if not rows:
        return {"epoch": None, "step": None, "seconds": None}
    last = rows[-1]
    return {"epoch": int(last["epoch"]), "step": int(last["step"]), "seconds": cell_float(last["elapsed_seconds"])}


def write_model_card(run_dir) -> Path:
    """Write RUN_DIR/MODEL_CARD.md from the run's files (atomically); returns its path."""
    run_dir = Path(run_dir)
    path = run_dir / MODEL_CARD
    text = model_card(run_dir)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def model_card(run_dir) -> str:
    """The card's Markdown text."""
    files = RunDir(run_dir)
    recipe = read_stored_recipe(files.recipe)
    made = recipe.get("provenance") or {}
    sections = [
        f"# Model card: {Path(run_dir).resolve().name}\n\n"
        f"Written by ganlab {__version__} on {datetime.date.today().isoformat()} from this run directory's files.\n",
        _model(files, recipe, made),
        _recipe(recipe),
        _data(recipe, made),
        _training(files, made),
        _evaluations(files),
        _samples(files),
        "## Intended use and limits\n\n" + LIMITS,
    ]
    return "\n".join(sections)


def _model(files, recipe, made) -> str:
    components = made.get("components") or {}
    shape = made.get("image_shape")
    classes = made.get("num_classes")
    t = recipe["training"]
    lines = ["## Model\n"]
    for section in ("generator", "discriminator", "loss"):
        lines.append(f"- {section}: `{components.get(section, recipe[section])}` {_params(recipe[section])}")
    lines.append(f"- z: {t['latent_dim']} numbers, {t['noise']} noise" + (
        f"; the first {t['info_modes']} choose an InfoGAN mode" if t.get("info_modes") else ""))
    if shape:
        lines.append(f"- output: {'x'.join(map(str, shape))} images (height x width x channels), "
                     f"values in {made.get('output_range', [-1.0, 1.0])}")
    if classes:
        lines.append(f"- conditional: takes a class label 0 to {classes - 1} beside z")
    weights = [f"`{files.generator.name}` ({'EMA of the weights' if t.get('ema') else 'the final weights'})"]
    if files.generator_raw.is_file():
        weights.append(f"`{files.generator_raw.name}` (the raw weights)")
    best = read_best(files.root)
    if best is not None and files.generator_best.is_file():
        kept = f"best {best['metric']} {best['value']:.4g} at step {best['step']}"
        weights.append(f"`{files.generator_best.name}` ({kept})")
    lines.append("- generators: " + ", ".join(weights) + "; `ganlab export` turns one into SavedModel, ONNX or LiteRT")
    return "\n".join(lines) + "\n"


def _params(section) -> str:
    shown = {k: v for k, v in section.items() if k != "name"} if isinstance(section, dict) else {}
    return f"({', '.join(f'{k}={v}' for k, v in shown.items())})" if shown else ""


def _recipe(recipe) -> str:
    lines = ["## Recipe\n", "| setting | value |", "| --- | --- |"]
    for section, key in KEY_SETTINGS:
        value = recipe.get(section, {}).get(key)
        if value is not None:
            lines.append(f"| `{section}.{key}` | {_cell(value)} |")
    lines.append(f"\nThe full recipe, with every default filled in and its provenance: [{RECIPE}]({RECIPE})")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, {}, ""))
    return str(value)


def _data(recipe, made) -> str:
    data, t = recipe["data"], recipe["training"]
    source = (made.get("components") or {}).get("data", data.get("name"))
    lines = ["## Data\n", f"- data set: `{source}` {_params(data)}"]
    if made.get("image_shape"):
        lines.append(f"- images: {'x'.join(map(str, made['image_shape']))}")
    if made.get("num_classes"):
        lines.append(f"- classes: {made['num_classes']}, given to G and D as labels")
    if t.get("d_validation"):
        lines.append(f"- held out of training: a {t['d_validation']} share of the images (D's validation)")
    lines.append(f"- a grid of the training images: [{REAL}]({REAL})")
    return "\n".join(lines) + "\n"


def _training(files, made) -> str:
    done = progress(files.root)
    lines = ["## Training\n"]
    if done["step"] is None:
        lines.append("- no epoch recorded in metrics.csv")
    else:
        lines.append(f"- {_count(done['epoch'], 'epoch')}, {_count(done['step'], 'step')} (G updates), "
                     f"{_duration(done['seconds'])} of training wall time")
    versions = ", ".join(f"{k} {made[k]}" for k in ("ganlab", "tensorflow", "keras") if k in made)
    if versions:
        lines.append(f"- trained with {versions}; seed {made.get('seed')}")
    warned = [row for row in read_rows(files.metrics) if row.get("health")]
    if warned:
        lines.append(f"- health warnings on {len(warned)} epochs, the last: {warned[-1]['health']}")
    lines.append(f"- per-epoch losses and checks: [{METRICS}]({METRICS}), [{LOSSES}]({LOSSES})")
    return "\n".join(lines) + "\n"


def _count(n, word) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _duration(seconds) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _evaluations(files) -> str:
    try:
        history = json.loads(files.eval_results.read_text())
    except (OSError, ValueError):
        history = []
    if not history:
        return f"## Evaluation\n\nNot evaluated yet: `ganlab eval {files.root}` scores it and rewrites this card.\n"
    parts = [f"## Evaluation\n\nEvery `ganlab eval` of this run, oldest first (from [{EVAL}]({EVAL})).\n"]
    for result in history:
        parts.append(
            f"### {result.get('created', '?')}: {describe(result['extractor'])}\n\n"
            f"{result['n']} samples, seed {result['seed']}; reference: {result['reference']}\n\n"
            f"```\n{table(result)}\n```\n"
        )
    return "\n".join(parts)


def _samples(files) -> str:
    grids = files.sample_grids()
    if not grids:
        return "## Samples\n\nNo sample grid was written.\n"
    epoch, path = grids[-1]
    link = path.relative_to(files.root).as_posix()
    return (
        f"## Samples\n\n![samples after epoch {epoch}]({link})\n\n"
        f"G(z) for fixed z after epoch {epoch}; every grid in order: [{files.progress.name}]({files.progress.name})\n"
    )
