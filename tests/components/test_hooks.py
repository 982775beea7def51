"""One test per hook specification: a plugin implementing it, end to end.

Each test registers a component through its hook in an isolated registry, checks what
the registry recorded, and runs the kind's contract checks on it. ``test_docs_coverage``
fails when a hook specification has no ``test_hook_<name>`` here.
"""

import keras
import pytest

from ganlab import Loss, hookimpl
from ganlab.components.loading import load_registry
from ganlab.conformance.runner import ComponentCheck
from tests import toy_plugins as toys


def tiny_discriminator(image_shape: tuple, width: int = 8):
    """A one-hidden-layer discriminator for tests."""
    images = keras.Input(tuple(image_shape))
    hidden = keras.layers.Dense(width, activation="relu")(keras.layers.Flatten()(images))
    return keras.Model(images, keras.layers.Dense(1)(hidden))


class Softplus(Loss):
    def d_loss(self, real_logits, fake_logits):
        return keras.ops.mean(keras.ops.softplus(-real_logits)) + keras.ops.mean(keras.ops.softplus(fake_logits))

    def g_loss(self, fake_logits):
        return keras.ops.mean(keras.ops.softplus(-fake_logits))


def softplus_loss():
    """Non-saturating GAN loss for tests."""
    return Softplus()


class OneOfEach:
    @hookimpl
    def register_generators(self, register):
        register("dense", toys.dense_generator)

    @hookimpl
    def register_discriminators(self, register):
        register("tiny", tiny_discriminator)

    @hookimpl
    def register_losses(self, register):
        register("softplus", softplus_loss)

    @hookimpl
    def register_datasets(self, register):
        register("noise", toys.noise_images)


@pytest.fixture(scope="module")
def registry():
    return load_registry(plugins=[("one", OneOfEach())], entry_points=False)


def registered_and_conforming(registry, kind, name, builder, params):
    component = registry.resolve(kind, name)
    assert (component.builder, component.plugin, component.qualified_name) == (builder, "one", f"one:{name}")
    assert [p.name for p in component.params] == params
    results = ComponentCheck(component, {}, image_shape=(8, 8, 1), latent_dim=4).run()
    assert [r.line() for r in results if not r.ok] == []
    return results


def test_hook_register_generators(registry):
    results = registered_and_conforming(registry, "generator", "dense", toys.dense_generator, ["width", "activation"])
    assert [r.check for r in results] == ["parameters", "builds", "output", "gradients", "round trip"]
    assert "activation='sigmoid'" in results[1].detail  # the other Literal choice was built too


def test_hook_register_discriminators(registry):
    results = registered_and_conforming(registry, "discriminator", "tiny", tiny_discriminator, ["width"])
    checks = ["parameters", "builds", "output", "gradients", "round trip", "frozen in g step"]
    assert [r.check for r in results] == checks


def test_hook_register_losses(registry):
    results = registered_and_conforming(registry, "loss", "softplus", softplus_loss, [])
    assert [r.check for r in results] == ["parameters", "builds", "values", "gradients", "round trip"]


def test_hook_register_datasets(registry):
    params = ["n", "size", "seed", "classes"]
    results = registered_and_conforming(registry, "dataset", "noise", toys.noise_images, params)
    assert [r.check for r in results] == ["parameters", "builds", "images", "round trip"]
    assert results[2].detail.startswith("256 images (8, 8, 1) uint8, no labels")
