"""ganlab.training.engine: the D step trains D, the AM step trains G, every image D sees goes
through ganlab.training.d_input, and the options arrive as one EngineOptions."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from ganlab.recipe.schema import SETTINGS
from ganlab.training import d_input
from ganlab.training.assemble import build_model
from ganlab.training.options import FROM_THE_RUN, EngineOptions
from tests.helpers import tiny

REAL = 7.0  # the real batch's pixel value: outside G's tanh range, so D's inputs tell which is which


def weights(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(old, new.numpy()) for old, new in zip(before, variables)]


def real_batch(n=32):
    return tf.fill((n, 8, 8, 1), REAL)


def test_options_are_read_from_the_recipe_and_given_to_the_engine(reg):
    settings = dict(ema=0.9, instance_noise=0.5, info_modes=3, info_weight=2.0, d_batch="concat", noise="uniform")
    recipe = tiny(reg, seed=7, **settings)
    options = EngineOptions.from_recipe(recipe, total_steps=12, num_classes=None)
    assert options == EngineOptions(
        latent_dim=8, noise="uniform", d_steps=2, d_batch="concat", seed=7, ema=0.9, instance_noise=0.5,
        info_modes=3, info_weight=2.0, total_steps=12, num_classes=None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.d_steps = 3
    assert build_model(recipe, (8, 8, 1), total_steps=12).options == options
    for field in dataclasses.fields(EngineOptions):  # a field is a training setting, or given by the run
        assert field.name in SETTINGS["training"] or field.name in FROM_THE_RUN, field.name
        if field.name in SETTINGS["training"]:
            assert field.default == SETTINGS["training"][field.name].default, field.name


def test_a_d_step_trains_d_and_leaves_gs_weights_alone(reg):
    model = build_model(tiny(reg), (8, 8, 1))
    g, d = weights(model.generator.trainable_variables), weights(model.discriminator.trainable_variables)
    model._d_step(real_batch())
    assert all(changed(d, model.discriminator.trainable_variables))
    assert not any(changed(g, model.generator.trainable_variables))
    assert (int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)) == (1, 0)


def test_an_am_step_trains_g_through_a_frozen_d(reg):
    model = build_model(tiny(reg, info_modes=3), (8, 8, 1))
    g, d = weights(model.generator.trainable_variables), weights(model.d_variables)
    model._g_step(real_batch())
    assert all(changed(g, model.generator.trainable_variables))
    assert not any(changed(d, model.d_variables))  # D and the InfoGAN mode guess
    assert (int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)) == (0, 1)


@pytest.mark.parametrize(
    "loss, d_batch, g_sees", [("bce", "separate", ["fake"]), ("ragan", "concat", ["fake", "real"])]
)
def test_every_image_d_sees_goes_through_d_input(reg, monkeypatch, loss, d_batch, g_sees):
    seen = []
    settings = {"instance_noise": 0.5, "diffaugment": ("cutout",)}

    def recording(option):
        def record(images, value, view):
            seen.append((option, "real" if np.all(images.numpy() == REAL) else "fake"))
            assert value == settings[option] and view.seed is model.noise_seed and view.total_steps == 10
            assert view.augment_p is model.ada.p  # ADA's p reaches every transform
            return images

        return record

    monkeypatch.setattr(d_input, "TRANSFORMS", {option: recording(option) for option in settings})
    recipe = tiny(reg, loss=loss, d_batch=d_batch, instance_noise=0.5, diffaugment="cutout", ada_target=0.6)
    model = build_model(recipe, (8, 8, 1), total_steps=10)
    model.train_step(real_batch(64))  # k = 2 D steps on 32 images each, then the AM step
    images = ["fake", "real", "fake", "real", *g_sees]
    assert seen == [(option, image) for image in images for option in settings]
