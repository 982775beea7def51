"""YAML recipe -> validated, fully resolved recipe.

A recipe is a mapping of sections. The component sections (``data``, ``generator``,
``discriminator``, ``loss``) name a registered component and give its parameters,
which are checked against the builder's signature. ``training`` and ``output`` are
ganlab's own, described by ``SETTINGS`` below. Every problem is reported before any
training starts, one line each, with the file, the line, the key path, what was
expected and what was found.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import importlib.util
import re
from pathlib import Path
from typing import Any, Callable, Literal

import yaml

from ganlab import info
from ganlab.components import check_value, type_name
from ganlab.errors import GanlabError

#: Recipe section -> component kind.
COMPONENT_SECTIONS = {"data": "dataset", "generator": "generator", "discriminator": "discriminator", "loss": "loss"}


@dataclasses.dataclass(frozen=True)
class Setting:
    """One of ganlab's own recipe keys: its type, default, a range check and a description."""

    annotation: Any
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None


def at_least(low):
    return lambda v: None if v is None or v >= low else f"must be >= {low}"


def positive(v):
    return None if v is None or v > 0 else "must be > 0"


def unit_interval(v):
    return None if 0 <= v < 1 else "must be in [0, 1)"


def _tensorboard_installed(v):
    # TensorFlow no longer brings TensorBoard; find it without importing anything.
    if v and importlib.util.find_spec("tensorboard") is None:
        return "needs the tensorboard package: pip install tensorboard (or pip install 'ganlab[tensorboard]')"
    return None


OPTIMIZER = {
    "name": Setting(Literal["adam"], "adam", "optimizer (Adam, as in the classic GAN recipes)"),
    "learning_rate": Setting(float, 2e-4, "learning rate", positive),
    "beta_1": Setting(float, 0.5, "Adam's first-moment decay", unit_interval),
    "beta_2": Setting(float, 0.999, "Adam's second-moment decay", unit_interval),
    "lr_decay": Setting(
        Literal["none", "linear", "cosine"], "none", "learning-rate schedule: constant, or linear/cosine decay to 0 by the last step"
    ),
    "decay_start": Setting(float, 0.0, "fraction of training after which the decay begins", unit_interval),
    "clip_norm": Setting(float | None, None, "rescale each update's gradients to at most this global L2 norm", positive),
}

SETTINGS: dict[str, dict[str, Any]] = {
    "training": {
        "epochs": Setting(int | None, None, "passes over the data set (one of epochs/steps is required)", at_least(1)),
        "steps": Setting(int | None, None, "G steps to train instead of epochs", at_least(1)),
        "batch_size": Setting(int, 128, "images per batch, for D and for the AM step", at_least(1)),
        "d_steps": Setting(int, 1, "k: D updates per G (AM) update, each on a fresh real batch", at_least(1)),
        "d_batch": Setting(
            Literal["separate", "concat"],
            "separate",
            "D update on two batches (real, then fake: one forward pass each) or one concatenated batch",
        ),
        "latent_dim": Setting(int, 100, "size of the latent vector z", at_least(1)),
        "noise": Setting(Literal["normal", "uniform"], "normal", "distribution of z: N(0, 1) or U(-1, 1)"),
        "seed": Setting(int, 0, "seed for weights, noise and data order: same seed, same run"),
        "optimizer": OPTIMIZER,
        "g_optimizer": "overrides",
        "d_optimizer": "overrides",
        "d_validation": Setting(
            float,
            0.0,
            "fraction of real images held out of training; D's accuracy on them is logged each epoch (D overfitting)",
            lambda v: None if 0 <= v <= 0.5 else "must be in [0, 0.5]",
        ),
        "instance_noise": Setting(
            float,
            0.0,
            "std of Gaussian noise added to every image D sees (G's output units), annealed linearly to 0 by the last step",
            at_least(0),
        ),
        "info_modes": Setting(
            int,
            0,
            "InfoGAN: z's first n entries choose one of n modes and D learns to tell each fake's mode, with G (0: off; see docs/recipes.md)",
            lambda v: None if v == 0 or v >= 2 else "must be 0 (off) or at least 2",
        ),
        "info_weight": Setting(float, 1.0, "weight of the InfoGAN mode term in both players' losses", positive),
        "ema": Setting(
            float | None,
            None,
            "decay of an exponential moving average of G's weights, used for samples when set (e.g. 0.999)",
            lambda v: None if v is None or 0 < v < 1 else "must be in (0, 1)",
        ),
        "precision": Setting(
            Literal["float32", "mixed_bfloat16"],
            "float32",
            "compute dtype of G and D; mixed_bfloat16 computes in bfloat16 and keeps float32 weights",
        ),
        "jit_compile": Setting(bool, True, "compile the train step with XLA"),
        "steps_per_execution": Setting(int, 1, "train steps per call into the compiled graph", at_least(1)),
    },
    "output": {
        "dir": Setting(str, "runs", "parent folder of run directories (ganlab run --out overrides)"),
        "sample_every": Setting(int, 1, "epochs between sample grids of the fixed z", at_least(1)),
        "checkpoint_every": Setting(int, 1, "epochs between checkpoints (one is always written at the end)", at_least(1)),
        "grid": Setting(int, 8, "sample grids are grid x grid images", at_least(1)),
        "eval_every": Setting(
            int,
            0,
            "epochs between quick quality checks logged to metrics.csv (0: off; needs a labelled dataset, see docs/metrics.md)",
            at_least(0),
        ),
        "tensorboard": Setting(bool, False, "also log each epoch's metrics and sample grid to RUN_DIR/tensorboard", _tensorboard_installed),
    },
    "distribute": {
        "strategy": Setting(
            Literal["none", "mirrored", "multi_worker", "tpu"],
            "none",
            "where one run trains: one device, several devices of this machine, several machines (TF_CONFIG), a Cloud TPU",
        ),
        "devices": Setting(
            int | None,
            None,
            "mirrored only: local devices to use (null: every GPU; on a machine without GPUs, N splits the CPU into N logical devices)",
            at_least(1),
        ),
        "sync_batch_norm": Setting(bool, True, "batch-norm layers normalise with the statistics of the global batch, not of each replica's share"),
        "tpu": Setting(str | None, None, "tpu only: the TPU's name or grpc:// address (null: $TPU_NAME, else 'local', the TPU VM's own)"),
    },
}

#: ``distribute`` keys that only mean something with one strategy.
STRATEGY_ONLY = {"devices": "mirrored", "tpu": "tpu"}

#: Written by ``ganlab run`` into a run's recipe.yaml (versions, plugins); informational only.
PROVENANCE = "provenance"
SECTIONS = [*COMPONENT_SECTIONS, *SETTINGS, PROVENANCE]
REQUIRED_SECTIONS = [*COMPONENT_SECTIONS, "training"]


@dataclasses.dataclass
class Recipe:
    """A validated recipe: ``data`` holds every section with defaults filled in."""

    data: dict
    source: str
    components: dict  # section -> Component

    def __getitem__(self, section):
        return self.data[section]

    def component_params(self, section) -> dict:
        return {k: v for k, v in self.data[section].items() if k != "name"}

    def to_yaml(self) -> str:
        return dump_yaml(self.data)


def dump_yaml(data) -> str:
    return yaml.safe_dump(_plain(data), sort_keys=False, default_flow_style=None)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class RecipeLoader(yaml.SafeLoader):
    """YAML's safe loader, reading ``1e-3`` as a float as YAML 1.2 does (PyYAML says str)."""


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def load_value(text):
    return yaml.load(text, Loader=RecipeLoader)


class _Problems:
    """Collects one line per problem, each naming where it is."""

    def __init__(self, source, lines):
        self.source, self.lines, self.items = source, lines, []

    def add(self, path, message):
        where = self.lines.get(path)
        if isinstance(where, str):  # set by an override: "--set key.path" names the key already
            self.items.append(f"{where}: {message}")
            return
        prefix = f"{self.source}:{where}" if where else self.source
        self.items.append(f"{prefix}: {path}: {message}" if path else f"{prefix}: {message}")

    def raise_if_any(self):
        if self.items:
            raise GanlabError(*self.items)


def _suggest(word, choices):
    hint = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" — did you mean '{hint[0]}'?" if hint else ""


def read_yaml(path) -> tuple[Any, dict]:
    """Parse YAML safely; return the data and a map from key path to line number."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise GanlabError(f"{path}: cannot read recipe: {exc.strerror or exc}") from None
    return parse_yaml(text, str(path))


def parse_yaml(text, source) -> tuple[Any, dict]:
    try:
        node = yaml.compose(text, Loader=RecipeLoader)
        data = load_value(text)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise GanlabError(
            f"{source}:{line}: tag {_tag(exc)} is not allowed: recipes are plain YAML (safe loader), "
            "remove the tag"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GanlabError(f"{where}: invalid YAML: {problem}") from None
    lines = {}
    _record_lines(node, "", lines)
    return data, lines


def _tag(exc):
    problem = exc.problem or ""
    return problem.split("tag", 1)[-1].strip() if "tag" in problem else "(unknown)"


def _record_lines(node, prefix, lines):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = f"{prefix}.{key.value}" if prefix else str(key.value)
            lines[path] = key.start_mark.line + 1
            _record_lines(value, path, lines)


def apply_overrides(data, overrides, lines) -> dict:
    """Apply ``key.path=value`` overrides; values are typed by YAML rules."""
    data = copy.deepcopy(data) if isinstance(data, dict) else {}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise GanlabError(f"--set {item}: expected KEY.PATH=VALUE, e.g. --set training.epochs=5")
        try:
            value = load_value(text)
        except yaml.YAMLError as exc:
            raise GanlabError(f"--set {item}: value is not valid YAML ({getattr(exc, 'problem', exc)})") from None
        parts = key.split(".")
        target = data
        for i, part in enumerate(parts[:-1]):
            if not isinstance(target.get(part), dict):
                if part in target and target[part] is not None:
                    raise GanlabError(f"--set {item}: '{'.'.join(parts[: i + 1])}' is not a mapping")
                target[part] = {}
            target = target[part]
        target[parts[-1]] = value
        lines[key] = f"--set {key}"
    return data


def load_recipe(path, registry, overrides=()) -> Recipe:
    """Read, override and validate a recipe file."""
    data, lines = read_yaml(path)
    return validate(data, registry, source=str(path), lines=lines, overrides=overrides)


def validate(data, registry, source="<recipe>", lines=None, overrides=()) -> Recipe:
    lines = dict(lines or {})
    if data is not None and not isinstance(data, dict):
        raise GanlabError(f"{source}: a recipe is a mapping of sections ({', '.join(SECTIONS)}), found {type(data).__name__}")
    data = apply_overrides(data or {}, overrides, lines)
    problems = _Problems(source, lines)
    for section in data:
        if section not in SECTIONS:
            problems.add(str(section), f"unknown section{_suggest(section, SECTIONS)} (sections: {', '.join(SECTIONS)})")
    for section in REQUIRED_SECTIONS:
        if section not in data:
            problems.add("", f"missing required section '{section}'")
    resolved, components = {}, {}
    for section, kind in COMPONENT_SECTIONS.items():
        if section in data:
            resolved[section], components[section] = _component(data[section], section, kind, registry, problems)
    for section, spec in SETTINGS.items():
        resolved[section] = _settings(data.get(section) or {}, spec, section, problems)
    training = resolved.get("training", {})
    if "training" in data and training.get("epochs") is None and training.get("steps") is None:
        problems.add("training", "set training.epochs or training.steps")
    _check_conditioning(components, problems)
    generator = components.get("generator")
    for problem in info.problems(training.get("info_modes", 0), training.get("latent_dim"), bool(generator and generator.conditional)):
        problems.add("training", problem)
    distribute = resolved["distribute"]
    for key, strategy in STRATEGY_ONLY.items():
        if distribute.get(key) is not None and distribute.get("strategy") != strategy:
            problems.add(f"distribute.{key}", f"only used with strategy {strategy}; remove it or set distribute.strategy: {strategy}")
    problems.raise_if_any()
    return Recipe(resolved, source, components)


def _check_conditioning(components, problems):
    """G and D must both take labels (conditional, a ``num_classes`` parameter) or neither."""
    g, d = components.get("generator"), components.get("discriminator")
    if g is None or d is None or g.conditional == d.conditional:
        return
    which = {True: "conditional (takes labels)", False: "unconditional"}
    problems.add(
        "discriminator.name",
        f"generator '{g.name}' is {which[g.conditional]} but discriminator '{d.name}' is {which[d.conditional]}: "
        "use a conditional generator and discriminator (e.g. cmlp and cmlp) or neither",
    )


def _component(section_data, section, kind, registry, problems):
    if isinstance(section_data, str):  # `loss: lsgan` is short for `loss: {name: lsgan}`
        section_data = {"name": section_data}
    if not isinstance(section_data, dict) or "name" not in section_data:
        problems.add(section, f"expected a mapping with 'name: <{kind}>' and its parameters, found {section_data!r}")
        return {}, None
    name = section_data["name"]
    try:
        component = registry.resolve(kind, str(name))
    except GanlabError as exc:
        problems.add(f"{section}.name", str(exc))
        return dict(section_data), None
    params = {p.name: p for p in component.params}
    resolved = {"name": name}
    for key, value in section_data.items():
        if key == "name":
            continue
        if key not in params:
            valid = ", ".join(params) or "none"
            problems.add(f"{section}.{key}", f"unknown parameter of {kind} '{name}'{_suggest(key, params)} (parameters: {valid})")
            continue
        try:
            resolved[key] = params[key].check(value)
        except TypeError as exc:
            problems.add(f"{section}.{key}", str(exc))
    for p in params.values():
        if p.name not in resolved and p.name not in section_data:
            if p.required:
                problems.add(f"{section}.{p.name}", f"required parameter of {kind} '{name}' is missing ({p.type_name})")
            else:
                resolved[p.name] = p.default
    return resolved, component


def _settings(values, spec, path, problems):
    if not isinstance(values, dict):
        problems.add(path, f"expected a mapping, found {values!r}")
        return {}
    resolved = {}
    for key, value in values.items():
        if key not in spec:
            problems.add(f"{path}.{key}", f"unknown key{_suggest(key, spec)} (keys: {', '.join(spec)})")
    for key, setting in spec.items():
        if setting == "overrides":  # partial optimizer settings for one player
            resolved[key] = _settings(values.get(key) or {}, spec["optimizer"], f"{path}.{key}", problems)
            resolved[key] = {k: v for k, v in resolved[key].items() if k in (values.get(key) or {})}
        elif isinstance(setting, dict):
            resolved[key] = _settings(values.get(key) or {}, setting, f"{path}.{key}", problems)
        elif key in values:
            try:
                resolved[key] = check_value(setting.annotation, values[key])
            except TypeError as exc:
                problems.add(f"{path}.{key}", str(exc))
                continue
            problem = setting.check(resolved[key]) if setting.check else None
            if problem:
                problems.add(f"{path}.{key}", f"{problem}, found {values[key]!r}")
        else:
            resolved[key] = setting.default
    return resolved


def optimizer_settings(recipe, player) -> dict:
    """The optimizer settings for ``player`` ('g' or 'd'): shared ones, then overrides."""
    training = recipe["training"]
    return {**training["optimizer"], **training[f"{player}_optimizer"]}


def describe_settings():
    """(key path, type, default, help) for every ganlab-owned key: for docs and tests."""
    rows = []

    def walk(spec, prefix):
        for key, setting in spec.items():
            path = f"{prefix}.{key}"
            if setting == "overrides":
                rows.append((path, "mapping", "{}", "per-player overrides of training.optimizer keys"))
            elif isinstance(setting, dict):
                walk(setting, path)
            else:
                rows.append((path, type_name(setting.annotation), setting.default, setting.help))

    for section, spec in SETTINGS.items():
        walk(spec, section)
    return rows



