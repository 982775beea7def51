"""YAML recipe -> validated, fully resolved recipe.

A recipe is a mapping of sections. The component sections (``data``, ``generator``,
``discriminator``, ``loss``) name a registered component and give its parameters,
which are checked against the builder's signature. ``training``, ``output`` and
``distribute`` are ganlab's own, described by ``SETTINGS`` in :mod:`ganlab.recipe.schema`.
Every problem is reported before any training starts, one line each, with the file, the
line, the key path, what was expected and what was found.
"""

from __future__ import annotations

import dataclasses
import difflib

from ganlab.components.params import check_value, clip, quote, rule_problem
from ganlab.errors import GanlabError
from ganlab.recipe.schema import (
    COMPONENT_KINDS,
    REQUIRED_SECTIONS,
    SECTIONS,
    SETTINGS,
    STRATEGY_ONLY,
    needs_problems,
)
from ganlab.recipe.yaml_io import apply_overrides, dump_yaml, read_yaml
from ganlab.training import infogan


@dataclasses.dataclass
class Recipe:
    """A validated recipe: ``data`` holds every section with defaults filled in."""

    data: dict
    source: str
    components: dict  # section -> Component

    def __getitem__(self, section):
        return self.data[section]

    def component_params(self, section) -> dict:
        return component_params(self.data[section])

    def to_yaml(self) -> str:
        return dump_yaml(self.data)


#: No line of a recipe error is longer than this, whatever the recipe holds.
MAX_LINE = 500


class _Problems:
    """Collects one line per problem, each naming where it is."""

    def __init__(self, source, lines):
        self.source, self.lines, self.items = source, lines, []

    def add(self, path, message):
        where = self.lines.get(path)
        path = clip(str(path))
        if isinstance(where, str):  # set by an override: "--set key.path" names the key
            set_key = where.removeprefix("--set ")
            within = set_key == path or set_key.startswith(f"{path}.")  # the override names the path already
            line = f"{where}: {message}" if within else f"{where}: {path}: {message}"
        else:
            prefix = f"{self.source}:{where}" if where else self.source
            line = f"{prefix}: {path}: {message}" if path else f"{prefix}: {message}"
        self.items.append(clip(line, MAX_LINE))

    def raise_if_any(self):
        if self.items:
            raise GanlabError(*self.items)


def _suggest(word, choices):
    hint = difflib.get_close_matches(clip(str(word), 100), [str(c) for c in choices], n=1)
    return f" — did you mean '{hint[0]}'?" if hint else ""


def load_recipe(path, registry, overrides=()) -> Recipe:
    """Read, override and validate a recipe file."""
    data, lines = read_yaml(path)
    return validate(data, registry, source=str(path), lines=lines, overrides=overrides)


def validate(data, registry, source="<recipe>", lines=None, overrides=()) -> Recipe:
    lines = dict(lines or {})
    if data is not None and not isinstance(data, dict):
        raise GanlabError(
            f"{source}: a recipe is a mapping of sections ({', '.join(SECTIONS)}), found {type(data).__name__}"
        )
    data = apply_overrides(data or {}, overrides, lines)
    problems = _Problems(source, lines)
    for section in data:
        if section not in SECTIONS:
            hint = _suggest(section, SECTIONS)
            problems.add(str(section), f"unknown section{hint} (sections: {', '.join(SECTIONS)})")
    for section in REQUIRED_SECTIONS:
        if section not in data:
            problems.add("", f"missing required section '{section}'")
    resolved, components = {}, {}
    for kind in COMPONENT_KINDS:
        if kind.section in data:
            resolved[kind.section], components[kind.section] = _component(
                data[kind.section], kind.section, kind.name, registry, problems
            )
    for section, spec in SETTINGS.items():
        resolved[section] = _settings(data.get(section) or {}, spec, section, problems)
    training = resolved.get("training", {})
    # (a value that failed its own check is missing from `training`, and reported already)
    if "training" in data and training.get("epochs", 0) is None and training.get("steps", 0) is None:
        problems.add("training", "set training.epochs or training.steps")
    _check_conditioning(components, problems)
    generator = components.get("generator")
    conditional = bool(generator and generator.conditional)
    for problem in infogan.problems(training.get("info_modes", 0), training.get("latent_dim"), conditional):
        problems.add("training", problem)
    distribute = resolved["distribute"]
    for key, strategy in STRATEGY_ONLY.items():
        if distribute.get(key) is not None and distribute.get("strategy") != strategy:
            problems.add(
                f"distribute.{key}",
                f"only used with strategy {strategy}; remove it or set distribute.strategy: {strategy}",
            )
    for path, message in needs_problems(resolved):
        problems.add(path, message)
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
        problems.add(
            section, f"expected a mapping with 'name: <{kind}>' and its parameters, found {quote(section_data)}"
        )
        return {}, None
    name = section_data["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        found = f"str {quote(name)}" if isinstance(name, str) else _found(name)
        problems.add(
            f"{section}.name",
            f"expected the name of a registered {kind} (a word such as 'mlp', or 'plugin:mlp'), found {found}; "
            "`ganlab list` shows the names",
        )
        return dict(section_data), None
    try:
        component = registry.resolve(kind, name)
    except GanlabError as exc:
        problems.add(f"{section}.name", str(exc))
        return dict(section_data), None
    params = {p.name: p for p in component.params}
    resolved, valid = {"name": name}, True
    for key, value in section_data.items():
        if key == "name":
            continue
        if key not in params:
            known = ", ".join(params) or "none"
            hint = _suggest(key, params)
            problems.add(f"{section}.{key}", f"unknown parameter of {kind} '{name}'{hint} (parameters: {known})")
            valid = False
            continue
        try:
            resolved[key] = params[key].check(value)
        except TypeError as exc:
            problems.add(f"{section}.{key}", str(exc))
            valid = False
    for p in params.values():
        if p.name not in resolved and p.name not in section_data:
            if p.required:
                problems.add(f"{section}.{p.name}", f"required parameter of {kind} '{name}' is missing ({p.type_name})")
                valid = False
            else:
                resolved[p.name] = p.default
    problem = rule_problem(component.builder, component_params(resolved)) if valid else None
    if problem:
        problems.add(section, f"{kind} '{name}': {problem}")
    return resolved, component


def component_params(section: dict) -> dict:
    return {k: v for k, v in section.items() if k != "name"}


def _found(value) -> str:
    if isinstance(value, dict):
        return f"a mapping {quote(value)} (YAML reads `word:` as a mapping: quote a name that ends in ':')"
    if isinstance(value, (list, tuple)):
        return f"a list {quote(value)}"
    return f"{type(value).__name__} {quote(value)}" if value is not None else "null"


def _settings(values, spec, path, problems):
    if not isinstance(values, dict):
        problems.add(path, f"expected a mapping, found {quote(values)}")
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
                problems.add(f"{path}.{key}", f"{problem}, found {quote(values[key])}")
        else:
            resolved[key] = setting.default
    return resolved
