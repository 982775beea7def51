"""What ``ganlab list`` shows: installed components, as text or JSON."""

from __future__ import annotations

import json

from ganlab.components.kinds import KINDS


def _default(value):
    if isinstance(value, tuple):
        return list(value)
    if value is None or isinstance(value, (bool, int, float, str, list)):
        return value
    return repr(value)


def component_dict(component) -> dict:
    return {
        "name": component.name,
        "kind": component.kind,
        "summary": component.summary,
        "plugin": component.plugin,
        "distribution": component.distribution,
        "version": component.version,
        "conditional": component.conditional,
        "params": [
            {
                "name": p.name,
                "type": p.type_name,
                "required": p.required,
                **({} if p.required else {"default": _default(p.default)}),
            }
            for p in component.params
        ],
    }


def as_json(registry, kinds=KINDS) -> str:
    return json.dumps(
        {
            "components": {k: [component_dict(c) for c in registry.components[k]] for k in kinds},
            "plugins": [vars(p) for p in registry.plugins],
            "failed": [vars(f) for f in registry.failures],
        },
        indent=2,
    )


def _conflict_note(registry, component, rivals) -> str:
    """How a recipe reaches ``component``, whose bare name ``rivals`` (it included) share."""
    preferred = registry.preferred(rivals)
    if preferred is None:
        return f"also registered by another plugin: use '{component.qualified_name}' in recipes"
    if component is preferred:
        others = [f"'{c.qualified_name}'" for c in rivals if c is not preferred]
        return f"'{component.name}' alone means this one, ganlab's own; write {' or '.join(others)} for the other"
    return f"'{component.name}' alone means ganlab's own: use '{component.qualified_name}' in recipes"


def as_text(registry, kinds=KINDS, verbose=False) -> str:
    out = []
    for kind in kinds:
        components = sorted(registry.components[kind], key=lambda c: (c.name, c.plugin))
        out.append(f"{KINDS[kind].plural}:")
        if not components:
            out.append("  (none installed)")
        conflicts = registry.conflicts(kind)
        width = max((len(c.name) for c in components), default=0)
        for c in components:
            source = f"{c.plugin} ({c.distribution} {c.version})" if c.distribution else c.plugin
            out.append(f"  {c.name:<{width}}  {c.summary}  [{source}]")
            if c.name in conflicts:
                out.append(f"  {'':<{width}}  ! {_conflict_note(registry, c, conflicts[c.name])}")
            if verbose:
                if c.conditional:
                    out.append(
                        f"  {'':<{width}}    conditional: takes labels; num_classes comes from the dataset's labels"
                    )
                for p in c.params:
                    default = "required" if p.required else f"= {_default(p.default)!r}"
                    out.append(f"  {'':<{width}}    {p.name}: {p.type_name} {default}")
        out.append("")
    if registry.failures:
        out.append("failed to load:")
        for f in registry.failures:
            out.append(f"  {f.plugin}: {f.reason}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
