"""The component registry: every registered component by kind and name, and the plugins
that loaded or failed. ``ganlab.components.loading.load_registry`` fills it."""

from __future__ import annotations

import dataclasses
import difflib

from ganlab.components.component import Component
from ganlab.components.kinds import KINDS
from ganlab.errors import GanlabError

#: The distribution whose components a bare name prefers when another plugin registers the same name.
FIRST_PARTY = "ganlab"


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

        A bare name registered by ganlab's own distribution and by other plugins means
        ganlab's own (see :meth:`preferred`), so shipped recipes mean what they meant
        whatever else is installed. A bare name registered by two other plugins is
        ambiguous: the error names both and the ``plugin:name`` way out. An unknown name
        says which installed plugins failed to load, and why.
        """
        plugin, _, bare = name.rpartition(":")
        matches = [
            c for c in self.components[kind] if c.name == bare and (not plugin or c.plugin == plugin)
        ]
        if len(matches) > 1:
            matches = [self.preferred(matches)] if self.preferred(matches) else matches
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
        raise GanlabError(f"unknown {kind} '{name}'{suggestion} (known: {known}){self._failed(plugin)}")

    def _failed(self, plugin: str) -> str:
        """What to add to an unknown-name error: the plugins that failed to load (``plugin`` alone if it did)."""
        named = [f for f in self.failures if f.plugin == plugin]
        if named:
            return f"; plugin '{plugin}' is installed but failed to load: {_short(named[0].reason)}"
        if not self.failures:
            return ""
        failed = ", ".join(f"'{f.plugin}' ({_short(f.reason, 120)})" for f in self.failures[:3])
        more = f" and {len(self.failures) - 3} more" if len(self.failures) > 3 else ""
        return f"; installed plugins that failed to load (see ganlab list): {failed}{more}"

    @staticmethod
    def preferred(components: list[Component]) -> Component | None:
        """Of components sharing a bare name, the one that name means: ganlab's own, if exactly one is."""
        own = [c for c in components if c.distribution == FIRST_PARTY]
        return own[0] if len(own) == 1 and len(components) > 1 else None

    def conflicts(self, kind: str) -> dict[str, list[Component]]:
        """Names that more than one plugin registers for ``kind``."""
        by_name: dict[str, list[Component]] = {}
        for c in self.components[kind]:
            by_name.setdefault(c.name, []).append(c)
        return {n: cs for n, cs in by_name.items() if len(cs) > 1}


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
