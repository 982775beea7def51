"""The registry: components by kind and name, and how a name resolves."""

import pytest

from ganlab import GanlabError
from ganlab.components.loading import load_registry
from tests import toy_plugins as toys
from tests.conftest import ROOT
from tests.helpers import fake_distribution


def registry(*plugins):
    return load_registry(plugins=[(type(p).__name__.lower(), p) for p in plugins], entry_points=False)


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


def test_unknown_name_says_which_plugins_failed_to_load_and_why(monkeypatch):
    monkeypatch.delenv("GANLAB_STRICT_PLUGINS", raising=False)
    reg = load_registry(plugins=[("toys", toys.Toys()), ("zoo", toys.Raises())], entry_points=False)
    with pytest.raises(GanlabError) as err:
        reg.resolve("generator", "zoo:resnet")
    assert str(err.value).endswith(
        "; plugin 'zoo' is installed but failed to load: RuntimeError: boom in hook"
    )
    with pytest.raises(GanlabError) as err:
        reg.resolve("loss", "resnet")
    assert str(err.value) == (
        "unknown loss 'resnet' (known: none installed); installed plugins that failed to load (see ganlab list): "
        "'zoo' (RuntimeError: boom in hook)"
    )
    with pytest.raises(GanlabError) as err:
        registry(toys.Toys()).resolve("generator", "resnet")
    assert "failed to load" not in str(err.value)


WGAN_GP = """
    from ganlab import Loss, hookimpl

    def wgan_gp(gp_weight: float = 10.0):
        '''Another WGAN-GP (third-party test plugin).'''
        raise AssertionError('not built here')

    @hookimpl
    def register_losses(register):
        register('wgan_gp', wgan_gp)
"""


def test_a_bare_name_shipped_by_ganlab_means_ganlabs_own(tmp_path, capsys, monkeypatch):
    from ganlab.cli import main

    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.syspath_prepend(str(fake_distribution(folder, f"ganlab_{name}", WGAN_GP, {name: f"ganlab_{name}"})))
    reg = load_registry()
    assert not reg.failures
    assert reg.resolve("loss", "wgan_gp").qualified_name == "losses:wgan_gp"
    assert reg.resolve("loss", "one:wgan_gp").distribution == "ganlab_one"
    assert main(["check", str(ROOT / "recipes" / "wgan_gp_mnist.yaml")]) == 0
    assert main(["list", "loss"]) == 0
    out = capsys.readouterr().out
    assert "! 'wgan_gp' alone means this one, ganlab's own; write 'one:wgan_gp' or 'two:wgan_gp' for the other" in out
    assert "! 'wgan_gp' alone means ganlab's own: use 'two:wgan_gp' in recipes" in out
    third_party = [c for c in reg.components["loss"] if c.distribution != "ganlab"]
    reg.components["loss"] = third_party  # without ganlab's own, two third-party plugins stay ambiguous
    with pytest.raises(GanlabError, match="'one' and 'two': write 'one:wgan_gp' or 'two:wgan_gp' to choose one"):
        reg.resolve("loss", "wgan_gp")
