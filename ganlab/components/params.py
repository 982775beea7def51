"""A component's recipe parameters, read from its builder's signature.

A builder's keyword parameters (minus the context arguments ganlab passes itself, see
``ganlab.components.kinds``) are the component's recipe parameters: their annotations give
the types and their defaults the defaults. That one signature feeds recipe validation,
``ganlab list -v`` and the docs.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Any, Callable, Literal

REQUIRED = inspect.Parameter.empty


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
    """Read recipe parameters from a builder's signature (annotations resolved)."""
    try:
        hints = typing.get_type_hints(builder)
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


def type_name(annotation) -> str:
    """A short, user-facing name for a type annotation."""
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
    """Check ``value`` against ``annotation``; return it converted (int->float, list->tuple)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin is Literal:
        if value in args:
            return value
        raise TypeError(f"expected one of {', '.join(map(repr, args))}, found {value!r}")
    if origin in (typing.Union, types.UnionType):
        for option in args:
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return check_value(option, value)
            except TypeError:
                pass
        raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")
        inner = args[0] if args else Any
        return origin(check_value(inner, v) for v in value)
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise TypeError(f"expected {type_name(annotation)}, found {_describe(value)}")


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, str):
        return f"str {value!r}"
    if isinstance(value, (list, tuple)):
        return f"list {list(value)!r}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
