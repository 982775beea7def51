"""pytest plugin for plugin authors: ganlab's contract checks in your own test suite.

Installed with ganlab (entry point ``pytest11``), so it is active wherever ganlab is.
Mark a test with the plugin to check and take a ``ganlab_contract`` argument; the test
then runs once per component of that plugin::

    import pytest

    @pytest.mark.ganlab_plugin("extras", params={"dataset.csv_pixels.path": "tests/digits.csv"})
    def test_contract(ganlab_contract):
        ganlab_contract.check()

``ganlab_plugin(NAME, params=None, image_shape=(28, 28, 1), latent_dim=100)`` takes a
plugin name as ``ganlab list`` shows it, or a distribution name for all its plugins.
``params`` maps ``KIND.NAME.PARAM`` to a value, as ``ganlab check-plugin --set`` does;
``check(params=...)`` adds more at run time, e.g. paths from fixtures. A failing check
fails the test with one line per broken contract. A plugin that failed to load, or is not
installed, shows up as one failing test rather than none.

The pytest header names the ganlab plugins found, so a missing entry point is obvious.
"""

from __future__ import annotations

import dataclasses

import pytest

MARKER = "ganlab_plugin"
ARGUMENT = "ganlab_contract"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name, params=None, image_shape=(28, 28, 1), latent_dim=100): run ganlab's contract checks on every "
        f"component of plugin (or distribution) NAME, one test per component, through a '{ARGUMENT}' argument",
    )


def pytest_report_header(config):
    from ganlab import __version__
    from ganlab.components.loading import load_registry
    from ganlab.errors import GanlabError

    try:
        registry = load_registry()
    except GanlabError as exc:  # GANLAB_STRICT_PLUGINS=1 and a broken plugin
        return f"ganlab {__version__}: {exc}"
    by_source = {}
    for p in registry.plugins:
        by_source.setdefault(f"{p.distribution} {p.version}" if p.distribution else "unpackaged", []).append(p.name)
    found = ", ".join(f"{', '.join(names)} ({source})" for source, names in by_source.items()) or "none"
    failed = f"; failed to load: {', '.join(f.plugin for f in registry.failures)}" if registry.failures else ""
    return f"ganlab {__version__}: plugins {found}{failed}"


@dataclasses.dataclass
class ContractCase:
    """One component to check (or the reason there is none), as a test receives it."""

    id: str
    component: object = None
    params: dict = dataclasses.field(default_factory=dict)
    context: dict = dataclasses.field(default_factory=dict)
    failure: str | None = None
    siblings: list = dataclasses.field(default_factory=list)  # the plugin's components, for check(params=...)

    def check(self, params: dict | None = None):
        """Run every contract check; fail the test with the broken ones. Returns the results."""
        from ganlab.conformance import runner
        from ganlab.errors import GanlabError

        if self.failure:
            pytest.fail(self.failure, pytrace=False)
        try:
            extra = runner.split_params(self.siblings, params or {})[self.component.qualified_name]
        except GanlabError as exc:  # failed outside the except block: no "during handling" chain
            extra = exc
        if isinstance(extra, GanlabError):
            pytest.fail(f"ganlab_contract.check(params=...): {extra}", pytrace=False)
        results = runner.ComponentCheck(self.component, {**self.params, **extra}, **self.context).run()
        failed = [r.line() for r in results if not r.ok]
        if failed:
            pytest.fail("\n".join(failed), pytrace=False)
        return results


def contract_cases(name, params=None, **context) -> list[ContractCase]:
    """The cases for plugin or distribution ``name``: one per component, one per load failure."""
    from ganlab.components.loading import load_registry
    from ganlab.conformance import runner
    from ganlab.errors import GanlabError

    try:
        loading, checks = runner.check_plugin(load_registry(), name, params or {}, **context)
    except GanlabError as exc:
        return [ContractCase(f"{name}-unusable", failure=f"@pytest.mark.{MARKER}({name!r}): {exc}")]
    cases = [ContractCase(f"{r.name}-{r.check}", failure=r.line()) for r in loading]
    components = [check.component for check in checks]
    for check in checks:
        c = check.component
        context = {"image_shape": check.image_shape, "latent_dim": check.latent_dim}
        cases.append(ContractCase(f"{c.kind}-{c.qualified_name}", c, check.given, context, siblings=components))
    return cases


def pytest_generate_tests(metafunc):
    if ARGUMENT not in metafunc.fixturenames:
        return
    markers = list(metafunc.definition.iter_markers(MARKER))
    if not markers:  # the ganlab_contract fixture below fails this one test, not the session
        return
    cases = [case for marker in markers for case in contract_cases(*marker.args, **marker.kwargs)]
    metafunc.parametrize(ARGUMENT, cases, ids=[case.id for case in cases])


@pytest.fixture(name=ARGUMENT)
def _contract_without_marker(request):
    """What a test taking ``ganlab_contract`` gets without the marker: one failure saying so.

    With the marker, ``pytest_generate_tests`` parametrizes the argument directly, which
    takes the place of this fixture.
    """
    pytest.fail(
        f"{request.node.nodeid}: a test taking '{ARGUMENT}' needs @pytest.mark.{MARKER}(NAME), "
        "NAME a plugin or distribution as ganlab list shows it",
        pytrace=False,
    )
