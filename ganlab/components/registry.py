"""The component registry: every registered component by kind and name, and the plugins
that loaded or failed. ``ganlab.components.loading.load_registry`` fills it."""

from __future__ import annotations

import dataclasses
import difflib

from ganlab.components.component import Component
from ganlab.components.kinds import KINDS
from ganlab.errors import GanlabError


@dataclasses.dataclass
class PluginFailure:
    """A plugin that could not be used, and the one-line reason."""

    plugin: str
    reason: str
    distribution: str | None = None


@dataclasses.dataclass
class PluginInfo:
    """A plugin that loaded: its name, where it came from, the hooks it implements."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]


class Registry:
    """Every registered component, by kind and name, plus the plugins that failed."""

    def __init__(self):
        self.components: dict[str, list[Component]] = {kind: [] for kind in KINDS}
        self.plugins: list[PluginInfo] = []
        self.failures: list[PluginFailure] = []

    def add(self, component: Component) -> None:
        self.components[component.kind].append(component)

    def names(self, kind: str) -> list[str]:
        return sorted({c.name for c in self.components[kind]})

    def resolve(self, kind: str, name: str) -> Component:
        """Find a component by ``name`` or ``plugin:name``.

        A bare name registered by two plugins is ambiguous: the error names both and the
        ``plugin:name`` way out.
        """
        plugin, _, bare = name.rpartition(":")
        matches = [
            c for c in self.components[kind] if c.name == bare and (not plugin or c.plugin == plugin)
        ]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            owners = " and ".join(f"'{c.plugin}'" for c in matches)
            choices = " or ".join(f"'{c.qualified_name}'" for c in matches)
            raise GanlabError(
                f"{kind} '{bare}' is registered by plugins {owners}: write {choices} to choose one"
            )
        choices = self.names(kind) + [c.qualified_name for c in self.components[kind]]
        hint = difflib.get_close_matches(name, choices, n=1)
        suggestion = f" — did you mean '{hint[0]}'?" if hint else ""
        known = ", ".join(self.names(kind)) or "none installed"
        raise GanlabError(f"unknown {kind} '{name}'{suggestion} (known: {known})")

    def conflicts(self, kind: str) -> dict[str, list[Component]]:
        """Names that more than one plugin registers for ``kind``."""
        by_name: dict[str, list[Component]] = {}
        for c in self.components[kind]:
            by_name.setdefault(c.name, []).append(c)
        return {n: cs for n, cs in by_name.items() if len(cs) > 1}
