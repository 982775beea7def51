"""Meta-tests: what plugin authors and recipe writers read keeps up with the code.

Every kind's hook has a section in docs/plugins.md that names its arguments and the
arguments its builders get, and a ``test_hook_<name>`` in tests/components/test_hooks.py; every
contract check is described there; every first-party component has a row, naming all its
parameters, in the component table of docs/recipes.md; every command has a section in
docs/cli.md.
"""

import inspect
import re

import pytest

from ganlab.cli_parser import build_parser
from ganlab.components.kinds import KINDS
from ganlab.components.loading import load_registry
from tests.components import test_hooks
from tests.conftest import ROOT

PLUGINS_MD = (ROOT / "docs" / "plugins.md").read_text()


def section(markdown, heading):
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^#{{1,{len(level)}}} |\Z)", markdown, re.S | re.M)
    return match.group(1) if match else None


@pytest.mark.parametrize("kind", KINDS)
def test_every_hook_has_a_section_naming_its_arguments(kind):
    name, args = KINDS[kind].hook_name, list(inspect.signature(KINDS[kind].hook).parameters)
    text = section(PLUGINS_MD, f"### `{name}({', '.join(args)})`")
    assert text is not None, f"docs/plugins.md has no section '### `{name}({', '.join(args)})`'"
    for word in [*args, *KINDS[kind].context_args, *KINDS[kind].optional_context_args]:
        assert f"`{word}" in text or f"{word}=" in text, f"the section on {name} does not mention {word}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_hook_has_a_test(kind):
    name = KINDS[kind].hook_name
    assert callable(getattr(test_hooks, f"test_hook_{name}", None)), (
        f"tests/components/test_hooks.py has no test_hook_{name}"
    )


@pytest.mark.parametrize(
    "kind, check",
    [(kind, check) for kind in KINDS for check in ("parameters", "builds", *dict(KINDS[kind].named_checks()))],
)
def test_every_contract_check_is_described(kind, check):
    table = section(PLUGINS_MD, "## Checking a plugin")
    rows = [line for line in table.splitlines() if line.startswith(f"| {check} |")]
    for_kind = [row for row in rows if kind in row.split("|")[2] or "all" in row.split("|")[2]]
    assert for_kind, f"no row for the {check} check of a {kind}"


def first_party_components():
    registry = load_registry()
    return [c for kind in registry.components for c in registry.components[kind] if c.distribution == "ganlab"]


@pytest.mark.parametrize("component", first_party_components(), ids=lambda c: f"{c.kind}-{c.name}")
def test_every_first_party_component_has_a_row_naming_its_parameters(component):
    recipes_md = (ROOT / "docs" / "recipes.md").read_text()
    start = f"| `{KINDS[component.kind].section}` | `{component.name}` |"
    rows = [line for line in recipes_md.splitlines() if line.startswith(start)]
    assert len(rows) == 1, f"docs/recipes.md needs one row starting {start}"
    missing = [p.name for p in component.params if f"`{p.name}`" not in rows[0]]
    assert not missing, (
        f"the docs/recipes.md row of {component.kind} {component.name} does not name {', '.join(missing)}"
    )


def test_every_command_has_a_section_in_cli_md():
    cli_md = (ROOT / "docs" / "cli.md").read_text()
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    missing = [cmd for cmd in commands if not re.search(rf"^## `ganlab {cmd}[ `]", cli_md, re.M)]
    assert not missing, f"docs/cli.md has no section for: {', '.join(missing)}"
