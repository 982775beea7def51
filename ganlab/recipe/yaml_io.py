"""Recipe text: safe YAML in and out, line numbers for every key path, ``--set`` overrides."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from ganlab.errors import GanlabError


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
