"""Plugin discovery: guarded loading of entry points and registration hooks into a Registry.

Plugins are modules exposed under the entry-point group ``ganlab``. Each one is loaded
and registered inside a guard: a plugin that fails to import, has a misspelled hook, a
hook with the wrong signature, or a hook that raises is recorded as a failure (shown by
``ganlab list``) instead of taking every command down. ``GANLAB_STRICT_PLUGINS=1`` turns
failures into errors, which is what plugin authors want while developing.

Nothing here runs at import time: call :func:`load_registry`.
"""

from __future__ import annotations

import difflib
import inspect
import os
from importlib import metadata

import pluggy

from ganlab.components import hookspecs
from ganlab.components.component import Component
from ganlab.components.kinds import KINDS
from ganlab.components.registry import PluginFailure, PluginInfo, Registry
from ganlab.errors import GanlabError, one_line

ENTRY_POINT_GROUP = "ganlab"


def make_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with ganlab's hook specifications and no plugins."""
    pm = pluggy.PluginManager("ganlab")
    pm.add_hookspecs(hookspecs)
    return pm


def strict() -> bool:
    return os.environ.get("GANLAB_STRICT_PLUGINS", "") not in ("", "0")


def hook_problem(pm, plugin) -> str | None:
    """Why ``plugin``'s hook implementations cannot work, in one line; None if they can.

    pluggy rejects the same mistakes, but says so over several lines with object reprs;
    this names the hook and the fix. A hook that takes no ``register`` is accepted by
    pluggy but could never register anything, so it is refused here.
    """
    hooks = [kind.hook_name for kind in KINDS.values()]
    marked, unmarked = [], []
    for attr in dir(plugin):
        try:
            opts = pm.parse_hookimpl_opts(plugin, attr)
            value = getattr(plugin, attr)
        except Exception:  # an attribute that raises on access is not a hook
            continue
        if opts is None:
            if attr.startswith("register_") and inspect.isroutine(value) and _defined_by(plugin, value):
                unmarked.append(attr)
            continue
        marked.append(attr)
        if attr not in hooks:
            hint = difflib.get_close_matches(attr, hooks, n=1)
            suggestion = f" — did you mean '{hint[0]}'?" if hint else ""
            return f"unknown hook '{attr}'{suggestion} (ganlab's hooks: {', '.join(hooks)})"
        params = list(inspect.signature(getattr(plugin, attr)).parameters)
        if params != ["register"]:
            return f"hook {attr}({', '.join(params)}) must take one argument, register: write def {attr}(register)"
    # pluggy skips functions without @hookimpl in silence; a hook's name, or a register_*
    # function in a plugin with no hook at all, is a hook its author forgot to mark.
    forgotten = [attr for attr in unmarked if attr in hooks or not marked]
    if forgotten:
        return (
            f"{forgotten[0]} is not marked @hookimpl, so ganlab never calls it: "
            f"write 'from ganlab import hookimpl' and put @hookimpl above def {forgotten[0]}"
        )
    return None


def _defined_by(plugin, function) -> bool:
    """Whether ``function`` is the plugin's own (not imported, like keras's register_keras_serializable)."""
    if inspect.ismodule(plugin):
        return getattr(function, "__module__", None) == plugin.__name__
    return getattr(function, "__self__", None) is plugin


def builder_problem(kind: str, builder) -> str | None:
    """Why ganlab cannot call ``builder`` as a ``kind`` builder, in one line; None if it can."""
    label = getattr(builder, "__qualname__", None) or repr(builder)
    try:
        params = list(inspect.signature(builder).parameters.values())
    except (TypeError, ValueError):
        return f"cannot read the signature of builder {label}; register a Python function"
    positional_only = [p.name for p in params if p.kind is p.POSITIONAL_ONLY]
    if positional_only:
        return (
            f"builder {label}: parameter(s) {', '.join(positional_only)} are positional-only, "
            "but ganlab passes every parameter by keyword"
        )
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    named = {p.name for p in params}
    missing = [arg for arg in KINDS[kind].context_args if arg not in named]
    if missing:
        return (
            f"builder {label}({', '.join(p.name for p in params)}) must accept {' and '.join(missing)}, "
            f"which ganlab passes to every {kind} builder"
        )
    return None


def add_plugin(pm, registry, plugin, name, distribution=None, version=None) -> bool:
    """Register one plugin object (module or instance) in a guard; False if it failed."""
    problem = hook_problem(pm, plugin)
    if problem:
        _fail(registry, name, distribution, GanlabError(problem))
        return False
    try:
        pm.register(plugin, name=name)
    except Exception as exc:  # wrong hook signature, duplicate plugin name, ...
        _fail(registry, name, distribution, exc)
        return False
    try:
        pm.check_pending()  # plugins before this one passed, so a failure is this one's
    except pluggy.PluginValidationError as exc:
        pm.unregister(plugin)
        _fail(registry, name, distribution, exc)
        return False
    hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
    registry.plugins.append(PluginInfo(name, distribution, version, hooks))
    return True


def _fail(registry, name, distribution, exc):
    if strict():
        raise GanlabError(f"plugin '{name}' failed to load: {one_line(exc)}") from exc
    registry.failures.append(PluginFailure(name, one_line(exc), distribution))


def load_entry_points(pm, registry, group: str = ENTRY_POINT_GROUP) -> None:
    """Import every plugin module in the entry-point ``group``, one by one, guarded."""
    for ep in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist else None
        version = dist.version if dist else None
        try:
            module = ep.load()
        except Exception as exc:
            _fail(registry, ep.name, dist_name, exc)
            continue
        add_plugin(pm, registry, module, ep.name, dist_name, version)


def collect_components(pm, registry) -> None:
    """Call each plugin's registration hooks, each in its own guard.

    Hook implementations are called one by one (not through ``pm.hook``) so that the
    host knows which plugin registered what, and one raising hook only costs its plugin.
    """
    infos = {p.name: p for p in registry.plugins}
    broken = set()
    for kind in KINDS:
        hook = getattr(pm.hook, KINDS[kind].hook_name)
        for impl in hook.get_hookimpls():
            info = infos[impl.plugin_name]
            if info.name in broken:
                continue

            def register(name, builder, _kind=kind, _info=info):
                if not isinstance(name, str) or not name or ":" in name:
                    raise GanlabError(f"{_kind} name must be a non-empty string without ':', got {name!r}")
                if not callable(builder):
                    raise GanlabError(f"{_kind} '{name}': the builder is not callable, it is {type(builder).__name__}")
                problem = builder_problem(_kind, builder)
                if problem:
                    raise GanlabError(f"{_kind} '{name}': {problem}")
                if any(c.name == name and c.plugin == _info.name for c in registry.components[_kind]):
                    raise GanlabError(
                        f"{_kind} '{name}' is registered twice by plugin '{_info.name}': "
                        f"'{_info.name}:{name}' must name one component; register each name once per kind"
                    )
                registry.add(Component(_kind, name, builder, _info.name, _info.distribution, _info.version))

            before = {k: len(v) for k, v in registry.components.items()}
            try:
                impl.function(register=register)
            except Exception as exc:
                for k, n in before.items():  # drop what the failing plugin half-registered
                    del registry.components[k][n:]
                broken.add(info.name)
                _fail(registry, info.name, info.distribution, exc)
    registry.plugins = [p for p in registry.plugins if p.name not in broken]


def load_registry(plugins=(), entry_points: bool = True) -> Registry:
    """Discover plugins and return the registry of their components.

    ``plugins`` is an iterable of ``(name, plugin_object)`` pairs registered directly —
    how tests build an isolated registry without installing anything.
    """
    pm = make_plugin_manager()
    registry = Registry()
    if entry_points:
        load_entry_points(pm, registry)
    for name, plugin in plugins:
        add_plugin(pm, registry, plugin, name)
    collect_components(pm, registry)
    return registry
