"""Recipe text: safe YAML in and out, line numbers for every key path, ``--set`` overrides.

Recipes are read with YAML's safe loader and a few bounds of ganlab's own, each ending in
one line naming the file and line instead of a traceback, a hang or gigabytes of memory:

- the file must be UTF-8 text of at most ``MAX_BYTES``;
- mappings and lists nest at most ``MAX_DEPTH`` deep;
- the document, with every alias expanded, has at most ``MAX_NODES`` nodes. Aliases
  (``&name`` / ``*name``) are allowed, also to mappings and lists (one optimizer block for
  both players), but an alias "bomb" that would expand to millions of nodes is refused,
  as is an alias inside the node it names;
- integers have at most ``MAX_INT_BITS`` bits;
- a key appears once per mapping (a second ``training:`` block is an error naming both
  lines, not a silent merge) and is a plain scalar, not a mapping or a list.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from ganlab.components.params import clip, quote
from ganlab.errors import GanlabError

#: A recipe is a few KB; this is far beyond any real one.
MAX_BYTES = 256 * 1024
#: Recipes nest four levels (training.optimizer.learning_rate); lists of lists a few more.
MAX_DEPTH = 32
#: Nodes of the document with aliases expanded: a recipe has about a hundred.
MAX_NODES = 10_000
#: Integers beyond this are refused as they are read (ganlab's own keys then check their ranges).
MAX_INT_BITS = 256


def dump_yaml(data) -> str:
    return yaml.safe_dump(_plain(data), sort_keys=False, default_flow_style=None)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class RecipeTextError(yaml.YAMLError):
    """What ganlab's own bounds refuse in a YAML text: ``(line or None, message)`` pairs."""

    def __init__(self, problems):
        super().__init__(problems[0][1])
        self.problems = problems
        self.problem = problems[0][1]


class RecipeLoader(yaml.SafeLoader):
    """YAML's safe loader, reading ``1e-3`` as a float as YAML 1.2 does (PyYAML says str),
    with bounded nesting and size and values that fail to construct reported at their line."""

    def compose_node(self, parent, index):
        self._depth = getattr(self, "_depth", 0) + 1
        self._nodes = getattr(self, "_nodes", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise RecipeTextError([(_line(self.peek_event()), f"nested more than {MAX_DEPTH} levels deep")])
            if self._nodes > MAX_NODES:
                raise RecipeTextError([(_line(self.peek_event()), f"more than {MAX_NODES:,} values: not a recipe")])
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        try:
            value = super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # an impossible date, an integer of 10,000 digits, ...
            shown = quote(node.value) if isinstance(node.value, str) else "here"
            message = f"cannot read the value {shown}: {clip(str(exc))}"
            raise RecipeTextError([(node.start_mark.line + 1, message)]) from None
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:  # 0xfff... has no digit limit
            message = f"the integer {quote(value)} is too large for any recipe value"
            raise RecipeTextError([(node.start_mark.line + 1, message)])
        return value


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def _line(event_or_node):
    mark = getattr(event_or_node, "start_mark", None)
    return mark.line + 1 if mark else None


def _load(text):
    """``(root node, data)`` of a YAML text; raises ``yaml.YAMLError`` (``RecipeTextError`` for ganlab's bounds)."""
    loader = RecipeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_nodes(node)
        return node, loader.construct_document(node)
    except RecursionError:  # a bound above should come first; this is the last line of defence
        raise RecipeTextError([(None, "nested too deeply")]) from None
    finally:
        loader.dispose()


def _check_nodes(root):
    """Refuse duplicate and complex keys, aliases inside themselves and alias bombs (see the module doc)."""
    problems, sizes, open_nodes = [], {}, set()

    def size(node):
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise RecipeTextError([(_line(node), "an alias refers to the mapping or list that contains it")])
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            first = {}
            for k, v in node.value:
                if not isinstance(k, yaml.ScalarNode):
                    what = "mapping" if isinstance(k, yaml.MappingNode) else "list"
                    problems.append((_line(k), f"a key must be a plain name, found a {what}"))
                elif k.tag != "tag:yaml.org,2002:merge":
                    if (k.tag, k.value) in first:
                        problems.append((
                            _line(k),
                            f"duplicate key {quote(k.value)} (first at line {first[(k.tag, k.value)]}): "
                            "merge the two into one",
                        ))
                    else:
                        first[(k.tag, k.value)] = _line(k)
                total += size(k) + size(v)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(v) for v in node.value)
        open_nodes.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise RecipeTextError([(
                _line(node),
                f"expands to more than {MAX_NODES:,} values (aliases included): not a recipe; "
                "write the values out or use fewer aliases",
            )])
        return total

    size(root)
    if problems:
        raise RecipeTextError(problems)


def load_value(text, source="value"):
    """One YAML value (a ``--set`` value), within the same bounds as a recipe file; GanlabError if it is not."""
    try:
        return _load(text)[1]
    except yaml.YAMLError as exc:
        raise GanlabError(f"{source} is not valid YAML ({_problem(exc)})") from None


def read_yaml(path) -> tuple[Any, dict]:
    """Parse YAML safely; return the data and a map from key path to line number."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise GanlabError(f"{path}: cannot read recipe: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise GanlabError(f"{path}: larger than {MAX_BYTES // 1024} KiB: not a recipe (a YAML file of a few KB)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise GanlabError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}): "
            "a recipe is a YAML text file; save it as UTF-8"
        ) from None
    return parse_yaml(text.removeprefix("\ufeff"), str(path))


def parse_yaml(text, source) -> tuple[Any, dict]:
    try:
        node, data = _load(text)
    except RecipeTextError as exc:
        raise GanlabError(*(f"{source}:{line}: {message}" if line else f"{source}: {message}"
                            for line, message in exc.problems)) from None
    except yaml.reader.ReaderError as exc:  # a control character, e.g. in a binary file that happens to be UTF-8
        line = text.count("\n", 0, exc.position) + 1
        raise GanlabError(f"{source}:{line}: not a YAML text: character #x{exc.character:04x} is not allowed") from None
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        if "constructor for the tag" not in (exc.problem or ""):
            raise GanlabError(f"{source}:{line}: invalid YAML: {_problem(exc)}") from None
        raise GanlabError(
            f"{source}:{line}: tag {_tag(exc)} is not allowed: recipes are plain YAML (safe loader), "
            "remove the tag"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise GanlabError(f"{where}: invalid YAML: {_problem(exc)}") from None
    lines = {}
    _record_lines(node, "", lines)
    return data, lines


def _problem(exc) -> str:
    text = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return clip(text, 200)


def _tag(exc):
    problem = exc.problem or ""
    return clip(problem.split("tag", 1)[-1].strip()) if "tag" in problem else "(unknown)"


def _record_lines(node, prefix, lines):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = f"{prefix}.{key.value}" if prefix else str(key.value)
            lines[path] = key.start_mark.line + 1
            _record_lines(value, path, lines)


def apply_overrides(data, overrides, lines) -> dict:
    """Apply ``key.path=value`` overrides; values are typed by YAML rules.

    Every key path the override sets, creates or replaces is recorded in ``lines`` as
    ``--set KEY``, so a problem there blames the override, not the file.
    """
    data = copy.deepcopy(data) if isinstance(data, dict) else {}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise GanlabError(f"--set {clip(item)}: expected KEY.PATH=VALUE, e.g. --set training.epochs=5")
        value = load_value(text, f"--set {clip(item)}: the value")
        parts = key.split(".")
        target = data
        for i, part in enumerate(parts[:-1]):
            prefix = ".".join(parts[: i + 1])
            if not isinstance(target.get(part), dict):
                if part in target and target[part] is not None:
                    raise GanlabError(f"--set {clip(item)}: '{prefix}' is not a mapping")
                target[part] = {}
                lines[prefix] = f"--set {key}"
            target = target[part]
        target[parts[-1]] = value
        for path in [p for p in lines if p.startswith(key + ".")]:  # what the file said under the replaced key
            del lines[path]
        _record_override(value, key, key, lines)
    return data


def _record_override(value, path, key, lines):
    lines[path] = f"--set {key}"
    if isinstance(value, dict):
        for k, v in value.items():
            _record_override(v, f"{path}.{k}", key, lines)
