"""A registered component: its builder, where it came from, and how it is built."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

from ganlab.components.kinds import KINDS
from ganlab.components.params import Param, builder_params


@dataclasses.dataclass
class Component:
    """A registered builder, and where it came from."""

    kind: str
    name: str
    builder: Callable
    plugin: str
    distribution: str | None = None
    version: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}"

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.builder) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def params(self) -> list[Param]:
        kind = KINDS[self.kind]
        return builder_params(self.builder, kind.context_args + kind.optional_context_args)

    @property
    def conditional(self) -> bool:
        """Whether the builder takes ``num_classes``: its model takes labels beside z or images."""
        return is_conditional(self.kind, self.builder)

    def build(self, **kwargs):
        """Call the builder; what it returns is checked against the kind's contract.

        A builder that breaks it raises a one-line GanlabError naming the kind, the plugin
        and the component. ``kwargs`` are the builder's arguments, context arguments included.
        """
        built = self.builder(**kwargs)
        KINDS[self.kind].contract(f"{self.kind} '{self.qualified_name}'", built, kwargs)
        return built


def is_conditional(kind: str, builder: Callable) -> bool:
    """Whether a ``kind`` builder names ``num_classes`` (``**kwargs`` alone does not count)."""
    if "num_classes" not in KINDS[kind].optional_context_args:
        return False
    try:
        return "num_classes" in inspect.signature(builder).parameters
    except (TypeError, ValueError):  # no readable signature: builder_problem reports it
        return False
