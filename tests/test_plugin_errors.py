"""Broken plugins are refused at load time with one line naming the plugin and what to fix."""

import pytest

from ganlab import GanlabError, hookimpl
from ganlab.components.loading import load_registry
from tests import toy_plugins as toys


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
        (toys.Misspelled(), "unknown hook 'register_generator' — did you mean 'register_generators'? (ganlab's hooks: register_generators, register_discriminators, register_losses, register_datasets)"),
        (Misnamed(), "unknown hook 'register_dataset' — did you mean 'register_datasets'? (ganlab's hooks: register_generators, register_discriminators, register_losses, register_datasets)"),
        (toys.WrongSignature(), "hook register_losses(register, extra) must take one argument, register: write def register_losses(register)"),
        (NoRegister(), "hook register_losses() must take one argument, register: write def register_losses(register)"),
        (make("generator", "flat", flat_generator), "generator 'flat': builder flat_generator(latent_dim, width) must accept image_shape, which ganlab passes to every generator builder"),
        (make("discriminator", "pos", positional), "discriminator 'pos': builder positional: parameter(s) image_shape, hidden are positional-only, but ganlab passes every parameter by keyword"),
        (make("generator", "a:b", toys.dense_generator), "generator name must be a non-empty string without ':', got 'a:b'"),
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
