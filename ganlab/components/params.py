"""A component's recipe parameters, read from its builder's signature.

A builder's keyword parameters (minus the context arguments ganlab passes itself, see
``ganlab.components.kinds``) are the component's recipe parameters: their annotations give
the types and their defaults the defaults. That one signature feeds recipe validation,
``ganlab list -v`` and the docs.

Constraints ride on the annotations, ``typing.Annotated[int, AtLeast(1)]``, so that
``ganlab check`` refuses what the builder would refuse without importing TensorFlow, and
``ganlab list -v`` shows them (``int >= 1``). A rule that ties several parameters together
is attached with :func:`params_rule`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from typing import Any, Callable, Literal

REQUIRED = inspect.Parameter.empty

#: The integers an ``int`` parameter takes: what NumPy and TensorFlow hold.
INT64 = (-(2**63), 2**63 - 1)

#: Values quoted in messages are cut to about this many characters.
QUOTE_LIMIT = 80


def quote(value, limit=QUOTE_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with "…" so that no message grows without bound."""
    return clip(_bounded_repr(value, limit), limit)


def clip(text: str, limit=QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded_repr(value, limit):
    # repr of a huge (or alias-shared) structure costs its whole size: build it only as far as shown.
    if isinstance(value, dict):
        parts, size = [], 0
        for k, v in value.items():
            if size > limit:
                parts.append("…")
                break
            parts.append(f"{_bounded_repr(k, limit)}: {_bounded_repr(v, limit)}")
            size += len(parts[-1]) + 2
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        parts, size = [], 0
        for v in value:
            if size > limit:
                parts.append("…")
                break
            parts.append(_bounded_repr(v, limit))
            size += len(parts[-1]) + 2
        return "[" + ", ".join(parts) + "]"
    if value is None or isinstance(value, bool):  # as the recipe spells them
        return "null" if value is None else str(value).lower()
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
    if isinstance(value, int) and value.bit_length() > 256:  # repr of a huge int is slow, or refused
        return f"<an integer of {int(value.bit_length() * 0.30103)} digits>"
    return repr(value)


class ConstraintError(TypeError):
    """A value of the right type outside its parameter's constraint (a ``TypeError``, as before)."""


@dataclasses.dataclass(frozen=True)
class Range:
    """A number in an interval: ``Range(0, 1)`` is [0, 1], ``Range(0, 1, high_open=True)`` [0, 1).

    Either bound may be ``None`` (unbounded). For plugin authors: ``Annotated[float, Range(0, 1)]``.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"

    def problem(self, value) -> str | None:
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return None if low_ok and high_ok else f"must be {self.describe()}"


def AtLeast(low) -> Range:  # noqa: N802  (reads as a type in an annotation)
    """``>= low``: ``Annotated[int, AtLeast(1)]``."""
    return Range(low)


def Above(low) -> Range:  # noqa: N802
    """``> low``: ``Annotated[float, Above(0)]``."""
    return Range(low, low_open=True)


def AtMost(high) -> Range:  # noqa: N802
    """``<= high``."""
    return Range(None, high)


@dataclasses.dataclass(frozen=True)
class Choices:
    """One of a few values of a type that ``Literal`` cannot spell (or to keep the base type): ``Choices(1, 3)``."""

    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", values)

    def describe(self) -> str:
        return "in {" + ", ".join(map(repr, self.values)) + "}"

    def problem(self, value) -> str | None:
        return None if value in self.values else f"must be one of {', '.join(map(repr, self.values))}"


@dataclasses.dataclass(frozen=True)
class Length:
    """A list of exactly ``n`` entries: ``Annotated[tuple[int, ...], Length(2)]``."""

    n: int

    def describe(self) -> str:
        return f"of length {self.n}"

    def problem(self, value) -> str | None:
        return None if len(value) == self.n else f"must have {self.n} entries"


@dataclasses.dataclass(frozen=True)
class Param:
    """One recipe parameter of a component."""

    name: str
    annotation: Any
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        return type_name(self.annotation)

    def check(self, value):
        """Return ``value`` converted to this parameter's type, or raise ``TypeError``."""
        return check_value(self.annotation, value)


def builder_params(builder: Callable, context_args=()) -> list[Param]:
    """Read recipe parameters from a builder's signature (annotations resolved, constraints kept)."""
    try:
        hints = typing.get_type_hints(builder, include_extras=True)
    except Exception:  # unresolvable annotation: fall back to the raw ones
        hints = {}
    params = []
    for p in inspect.signature(builder).parameters.values():
        if p.name in context_args or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(p.name, p.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = type(p.default) if p.default not in (REQUIRED, None) else Any
        params.append(Param(p.name, annotation, p.default))
    return params


def params_rule(rule: Callable[[dict], str | None]):
    """Decorator: attach a rule over several parameters to a builder, for ``ganlab check``.

    ``rule(params)`` gets the section's parameters with defaults filled in and returns one
    line saying what is wrong, or None. ``@params_rule(lambda p: None if p["a"] < p["b"]
    else "b must be greater than a")``. It runs without TensorFlow; the builder keeps its
    own check too.
    """

    def attach(builder):
        builder.params_rule = rule
        return builder

    return attach


def rule_problem(builder, params: dict) -> str | None:
    """What ``builder``'s :func:`params_rule` says about ``params`` (None: nothing, or no rule)."""
    rule = getattr(builder, "params_rule", None)
    if rule is None:
        return None
    try:
        return rule(params)
    except Exception as exc:  # a plugin's rule is plugin code: its failure is reported, not raised
        return f"the component's parameter rule failed: {type(exc).__name__}: {quote(str(exc))}"


def _split_annotated(annotation):
    """``(base, constraints)`` of ``Annotated[base, *metadata]``; constraints have ``problem()``."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return base, [m for m in metadata if callable(getattr(m, "problem", None))]
    return annotation, []


def type_name(annotation) -> str:
    """A short, user-facing name for a type annotation, its constraints included ("int >= 1")."""
    base, constraints = _split_annotated(annotation)
    if constraints:
        described = [c.describe() if callable(getattr(c, "describe", None)) else str(c) for c in constraints]
        return f"{type_name(base)} {', '.join(described)}"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return "any"
    if origin is Literal:
        return "|".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else type_name(a) for a in args)
    if origin in (list, tuple):
        inner = args[0] if args else Any
        return f"list of {type_name(inner)}"
    return getattr(annotation, "__name__", str(annotation))


def check_value(annotation, value):
    """Check ``value`` against ``annotation``; return it converted (int->float, list->tuple).

    A wrong type raises ``TypeError``; a value outside a constraint, a non-finite float or
    an int beyond 64 bits raises :class:`ConstraintError` (a ``TypeError``).
    """
    base, constraints = _split_annotated(annotation)
    if constraints:
        try:
            checked = check_value(base, value)
        except ConstraintError:
            if not isinstance(value, int):
                raise
            checked = value  # an int beyond 64 bits: the declared range, if it says so, is the better message
            _check_constraints(constraints, checked)
            raise
        _check_constraints(constraints, checked)
        return checked
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin is Literal:
        if any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in args):
            return value
        raise TypeError(f"expected one of {', '.join(map(repr, args))}, found {quote(value)}")
    if origin in (typing.Union, types.UnionType):
        for option in args:
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return check_value(option, value)
            except ConstraintError:
                raise  # the type fitted: what is wrong is the value
            except TypeError:
                pass
        raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")
        inner = args[0] if args else Any
        checked = []
        for i, v in enumerate(value):
            try:
                checked.append(check_value(inner, v))
            except TypeError as exc:
                raise type(exc)(f"entry {i + 1} of {len(value)}: {exc}") from None
        return origin(checked)
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise ConstraintError(f"must be a finite number, found {value!r}")
            try:
                return float(value)
            except OverflowError:
                raise ConstraintError(f"must be a finite number, found {quote(value)}") from None
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT64[0] <= value <= INT64[1]:
                raise ConstraintError(f"must fit in a 64-bit integer, found {quote(value)}")
            return value
    elif isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")


def _check_constraints(constraints, value):
    for constraint in constraints:
        problem = constraint.problem(value)
        if problem:
            raise ConstraintError(f"{problem}, found {quote(value)}")


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {quote(value)}"
    if isinstance(value, str):
        return f"str {quote(value)}"
    if isinstance(value, (list, tuple)):
        return f"list {quote(list(value))}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
