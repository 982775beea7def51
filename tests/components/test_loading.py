"""Plugin loading: isolated plugin managers, guards, real entry points, and broken plugins refused
at load time with one line naming the plugin and what to fix."""

import json
import os
import subprocess
import sys

import pytest

from ganlab import GanlabError, hookimpl
from ganlab.components.loading import load_registry
from tests import toy_plugins as toys
from tests.conftest import ROOT
from tests.helpers import fake_distribution

#: The hooks as the unknown-hook message lists them.
HOOKS = "register_generators, register_discriminators, register_losses, register_datasets"


def registry(*plugins, monkeypatch=None):
    return load_registry(plugins=[(type(p).__name__.lower(), p) for p in plugins], entry_points=False)


def test_isolated_registry_records_components_and_params():
    reg = registry(toys.Toys())
    component = reg.resolve("generator", "dense")
    assert component.plugin == "toys" and component.summary == "A one-layer generator for tests."
    params = {p.name: p for p in component.params}
    assert list(params) == ["width", "activation"]  # context args latent_dim/image_shape excluded
    assert params["width"].default == 8 and params["width"].type_name == "int"
    assert params["activation"].type_name == "tanh|sigmoid"
    assert {p.name: p.required for p in reg.resolve("generator", "deep").params} == {"depth": True}


@pytest.mark.parametrize(
    "plugin, reason",
    [
        (toys.Misspelled(), "unknown hook 'register_generator'"),
        (toys.WrongSignature(), "extra"),
        (toys.Raises(), "RuntimeError: boom in hook"),
    ],
)
def test_broken_plugin_is_reported_and_others_keep_working(plugin, reason, monkeypatch):
    monkeypatch.delenv("GANLAB_STRICT_PLUGINS", raising=False)
    reg = registry(toys.Toys(), plugin)
    assert [f.plugin for f in reg.failures] == [type(plugin).__name__.lower()]
    assert reason in reg.failures[0].reason
    assert reg.resolve("generator", "dense").plugin == "toys"
    assert reg.components["loss"] == []  # a raising hook's half-registration is dropped
    assert [p.name for p in reg.plugins] == ["toys"]


def test_strict_mode_turns_failures_into_errors(monkeypatch):
    monkeypatch.setenv("GANLAB_STRICT_PLUGINS", "1")
    with pytest.raises(GanlabError, match="plugin 'misspelled' failed to load"):
        registry(toys.Misspelled())


def test_first_party_plugins_come_through_entry_points():
    reg = load_registry()
    assert not reg.failures, reg.failures
    first_party = [("generator", "mlp"), ("discriminator", "mlp"), ("loss", "bce"), ("loss", "lsgan")]
    for kind, name in [*first_party, ("dataset", "mnist")]:
        component = reg.resolve(kind, name)
        assert component.distribution == "ganlab" and component.summary


def _list_json(path, *extra_env):
    env = {"PYTHONPATH": f"{path}:{ROOT}", **dict(extra_env)}
    code = "import sys; from ganlab.cli import main; sys.exit(main(['list', '--json']))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})


THIRD_PARTY = """
    from ganlab import hookimpl

    def hinge(margin: float = 1.0):
        '''Hinge loss (third-party test plugin).'''
        raise AssertionError('not called by list')

    @hookimpl
    def register_losses(register):
        register('hinge', hinge)
"""


def test_third_party_plugin_discovered_through_a_real_entry_point(tmp_path):
    path = fake_distribution(tmp_path, "ganlab_hinge", THIRD_PARTY, {"hinge": "ganlab_hinge"})
    result = _list_json(path)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    # ganlab has a hinge too
    hinge = [c for c in listed["components"]["loss"] if c["name"] == "hinge" and c["plugin"] == "hinge"]
    assert hinge == [
        {
            "name": "hinge",
            "kind": "loss",
            "summary": "Hinge loss (third-party test plugin).",
            "plugin": "hinge",
            "distribution": "ganlab_hinge",
            "version": "1.2.3",
            "params": [{"name": "margin", "type": "float", "required": False, "default": 1.0}],
            "conditional": False,
        }
    ]


def test_plugin_that_fails_to_import_is_listed_and_commands_keep_working(tmp_path):
    path = fake_distribution(
        tmp_path, "ganlab_broken", "raise ImportError('needs torch')\n", {"broken": "ganlab_broken"}
    )
    result = _list_json(path)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["failed"] == [
        {"plugin": "broken", "reason": "ImportError: needs torch", "distribution": "ganlab_broken"}
    ]
    assert any(c["name"] == "mlp" for c in listed["components"]["generator"])
    strict = _list_json(path, ("GANLAB_STRICT_PLUGINS", "1"))
    assert strict.returncode == 2 and "plugin 'broken' failed to load: ImportError: needs torch" in strict.stderr
    assert "Traceback" not in strict.stderr

class NoRegister:
    @hookimpl
    def register_losses(self):
        pass


class Misnamed:
    @hookimpl
    def register_dataset(self, register):
        pass


def flat_generator(latent_dim: int, width: int = 8):
    """A generator builder that forgot image_shape."""


def positional(image_shape, hidden=8, /):
    """A discriminator builder with positional-only parameters."""


def make(kind, name, builder):
    class Plugin:
        @hookimpl
        def register_generators(self, register):
            if kind == "generator":
                register(name, builder)

        @hookimpl
        def register_discriminators(self, register):
            if kind == "discriminator":
                register(name, builder)

    return Plugin()


@pytest.mark.parametrize(
    "plugin, reason",
    [
        (
            toys.Misspelled(),
            "unknown hook 'register_generator' — did you mean 'register_generators'? "
            f"(ganlab's hooks: {HOOKS})",
        ),
        (
            Misnamed(),
            f"unknown hook 'register_dataset' — did you mean 'register_datasets'? (ganlab's hooks: {HOOKS})",
        ),
        (
            toys.WrongSignature(),
            "hook register_losses(register, extra) must take one argument, register: "
            "write def register_losses(register)",
        ),
        (NoRegister(), "hook register_losses() must take one argument, register: write def register_losses(register)"),
        (
            make("generator", "flat", flat_generator),
            "generator 'flat': builder flat_generator(latent_dim, width) must accept image_shape, "
            "which ganlab passes to every generator builder",
        ),
        (
            make("discriminator", "pos", positional),
            "discriminator 'pos': builder positional: parameter(s) image_shape, hidden are positional-only, "
            "but ganlab passes every parameter by keyword",
        ),
        (
            make("generator", "a:b", toys.dense_generator),
            "generator name must be a non-empty string without ':', got 'a:b'",
        ),
        (make("generator", "obj", 42), "generator 'obj': the builder is not callable, it is int"),
    ],
)
def test_bad_plugin_is_one_line_naming_it(plugin, reason, monkeypatch):
    monkeypatch.delenv("GANLAB_STRICT_PLUGINS", raising=False)
    registry = load_registry(plugins=[("bad", plugin), ("toys", toys.Toys())], entry_points=False)
    assert [(f.plugin, f.reason) for f in registry.failures] == [("bad", reason)]
    assert [p.name for p in registry.plugins] == ["toys"]
    assert registry.resolve("generator", "dense").plugin == "toys"
    monkeypatch.setenv("GANLAB_STRICT_PLUGINS", "1")
    with pytest.raises(GanlabError) as info:
        load_registry(plugins=[("bad", plugin)], entry_points=False)
    assert str(info.value) == f"plugin 'bad' failed to load: {reason}"


def test_builders_taking_any_keyword_are_accepted():
    def anything(**kwargs):
        """Accepts whatever ganlab passes."""

    registry = load_registry(plugins=[("ok", make("generator", "any", anything))], entry_points=False)
    assert not registry.failures and registry.resolve("generator", "any").params == []


class HalfMarked:
    @hookimpl
    def register_generators(self, register):
        register("dense", toys.dense_generator)

    def register_losses(self, register):  # a hook's name, unmarked
        pass


class WithHelper:
    @hookimpl
    def register_generators(self, register):
        register("dense", toys.dense_generator)

    def register_all(self, register):  # a helper beside a real hook: not a hook's name, left alone
        pass


UNMARKED = """
    from dataclasses import replace as register_imported  # imported, not the plugin's: never reported


    def register_losses(register):
        raise AssertionError('never called')
"""


@pytest.mark.parametrize(
    "plugin, hook", [(toys.Unmarked(), "register_generators"), (HalfMarked(), "register_losses")]
)
def test_a_hook_without_hookimpl_is_a_load_failure_naming_it(plugin, hook, monkeypatch):
    monkeypatch.delenv("GANLAB_STRICT_PLUGINS", raising=False)
    reason = (
        f"{hook} is not marked @hookimpl, so ganlab never calls it: "
        f"write 'from ganlab import hookimpl' and put @hookimpl above def {hook}"
    )
    reg = load_registry(plugins=[("unmarked", plugin)], entry_points=False)
    assert [(f.plugin, f.reason) for f in reg.failures] == [("unmarked", reason)]
    monkeypatch.setenv("GANLAB_STRICT_PLUGINS", "1")
    with pytest.raises(GanlabError, match="plugin 'unmarked' failed to load: register_"):
        load_registry(plugins=[("unmarked", plugin)], entry_points=False)
    assert not load_registry(plugins=[("helper", WithHelper())], entry_points=False).failures


def test_an_unmarked_hook_module_fails_in_ganlab_list(tmp_path, capsys, monkeypatch):
    from ganlab.cli import main

    monkeypatch.delenv("GANLAB_STRICT_PLUGINS", raising=False)
    site = fake_distribution(tmp_path, "ganlab_unmarked", UNMARKED, {"um": "ganlab_unmarked"})
    monkeypatch.syspath_prepend(str(site))
    assert main(["list", "loss"]) == 0
    assert "  um: register_losses is not marked @hookimpl, so ganlab never calls it" in capsys.readouterr().out
    (site / "ganlab_unmarked.py").write_text("from dataclasses import replace as register_imported\n")
    sys.modules.pop("ganlab_unmarked", None)
    assert main(["list", "loss"]) == 0
    assert "um:" not in capsys.readouterr().out


def test_one_plugin_registering_a_name_twice_is_refused(monkeypatch):
    monkeypatch.delenv("GANLAB_STRICT_PLUGINS", raising=False)
    reg = load_registry(plugins=[("twice", toys.Twice()), ("toys", toys.Toys())], entry_points=False)
    assert [(f.plugin, f.reason) for f in reg.failures] == [
        (
            "twice",
            "generator 'dense' is registered twice by plugin 'twice': 'twice:dense' must name one component; "
            "register each name once per kind",
        )
    ]
    assert [c.qualified_name for c in reg.components["generator"]] == ["toys:dense", "toys:deep"]
