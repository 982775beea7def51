"""The registry: isolated plugin managers, guards, duplicates, and real entry points."""

import json
import subprocess
import sys

import pytest

from ganlab import GanlabError
from ganlab.components.loading import load_registry
from tests import toy_plugins as toys
from tests.conftest import ROOT
from tests.helpers import fake_distribution


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


def test_unknown_component_suggests_nearest():
    reg = registry(toys.Toys())
    with pytest.raises(GanlabError, match="unknown generator 'dens' — did you mean 'dense'"):
        reg.resolve("generator", "dens")


def test_duplicate_name_is_an_error_naming_both_plugins_and_the_way_out():
    reg = registry(toys.Toys(), toys.Rival())
    with pytest.raises(GanlabError) as err:
        reg.resolve("generator", "dense")
    assert "'toys' and 'rival'" in str(err.value) and "'toys:dense' or 'rival:dense'" in str(err.value)
    assert reg.resolve("generator", "rival:dense").plugin == "rival"
    assert reg.resolve("generator", "toys:dense").plugin == "toys"


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
    for kind, name in [("generator", "mlp"), ("discriminator", "mlp"), ("loss", "bce"), ("loss", "lsgan"), ("dataset", "mnist")]:
        component = reg.resolve(kind, name)
        assert component.distribution == "ganlab" and component.summary



def _list_json(path, *extra_env):
    env = {"PYTHONPATH": f"{path}:{ROOT}", **dict(extra_env)}
    code = "import sys; from ganlab.cli import main; sys.exit(main(['list', '--json']))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**__import__("os").environ, **env})


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
    hinge = [c for c in listed["components"]["loss"] if c["name"] == "hinge" and c["plugin"] == "hinge"]  # ganlab has a hinge too
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
    path = fake_distribution(tmp_path, "ganlab_broken", "raise ImportError('needs torch')\n", {"broken": "ganlab_broken"})
    result = _list_json(path)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["failed"] == [{"plugin": "broken", "reason": "ImportError: needs torch", "distribution": "ganlab_broken"}]
    assert any(c["name"] == "mlp" for c in listed["components"]["generator"])
    strict = _list_json(path, ("GANLAB_STRICT_PLUGINS", "1"))
    assert strict.returncode == 2 and "plugin 'broken' failed to load: ImportError: needs torch" in strict.stderr
    assert "Traceback" not in strict.stderr
