"""The SN-ResNet models: sizes from the image shape, widths, attention, conditional variants, and
spectral normalisation through the real engine (D frozen in the AM step, u moved by the D step,
XLA and mixed_bfloat16, u in the checkpoint and the step after a restore the same)."""

import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError
from ganlab.recipe.validate import validate
from ganlab.training.assemble import build_model
from ganlab.training.spectral_norm import spectral_norms
from ganlab_plugins import sngan


@pytest.mark.parametrize(
    "size, g_maps, d_maps",
    [
        (32, [4, 8, 16, 32], [16, 8, 8, 8]),
        (48, [6, 12, 24, 48], [24, 12, 6, 6]),
        (64, [4, 8, 16, 32, 64], [32, 16, 8, 8, 8]),
    ],
)
def test_the_image_size_decides_the_blocks_and_the_widths_double_up_to_max_width(size, g_maps, d_maps):
    g = sngan.sngan_generator(16, (size, size, 3), width=4, max_width=16)
    d = sngan.sngan_discriminator((size, size, 3), width=4, max_width=16)
    assert g.output_shape == (None, size, size, 3) and g.output_range == (-1.0, 1.0)
    g_sums = [layer.output.shape[1:] for layer in g.layers if type(layer).__name__ in ("Reshape", "Add")]
    assert [shape[0] for shape in g_sums] == g_maps  # the start map, then each block's
    assert [shape[-1] for shape in g_sums] == [min(4 * 2**j, 16) for j in reversed(range(len(g_maps)))]
    assert d.output_shape == (None, 1)
    assert not {"Conv2D", "Dense", "Embedding"} & {type(layer).__name__ for layer in d.layers}  # all wrapped
    d_sums = [layer.output.shape[1:] for layer in d.layers if type(layer).__name__ == "Add"]
    assert [shape[0] for shape in d_sums] == d_maps
    assert [shape[-1] for shape in d_sums] == [min(4 * 2**k, 16) for k in range(len(d_maps))]


def test_sizes_and_attention_it_cannot_build_are_one_line():
    with pytest.raises(GanlabError, match=r"^generator sngan: image_shape must be .*found \(30, 30, 3\)$"):
        sngan.sngan_generator(16, (30, 30, 3))
    with pytest.raises(GanlabError, match=r"attention must be null or one of \[8, 16\] .*, found 32$"):
        sngan.sngan_discriminator((32, 32, 3), attention=32)
    with pytest.raises(GanlabError, match=r"^discriminator sngan: max_width must be null or >= width, found 8$"):
        sngan.sngan_discriminator((32, 32, 3), width=16, max_width=8)


def test_attention_and_the_labels_change_the_models():
    rng = np.random.default_rng(0)
    z, images = rng.normal(size=(4, 16)).astype(np.float32), rng.uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    g = sngan.csngan_generator(latent_dim=16, image_shape=(32, 32, 3), num_classes=3, width=4, attention=16)
    d = sngan.csngan_discriminator(image_shape=(32, 32, 3), num_classes=3, width=4, attention=16)
    assert "Softmax" in [type(layer).__name__ for layer in g.layers + d.layers]
    labels = np.array([0, 1, 2, 0], np.int32)
    assert not np.allclose(g([z, labels]), g([z, (labels + 1) % 3]))
    assert not np.allclose(d([images, labels]), d([images, (labels + 1) % 3]))


def recipe(reg, classes=0, **training):
    """A tiny SNGAN recipe on 8x8 noise images (a 4x4 start, one block)."""
    models = {"name": "csngan" if classes else "sngan", "width": 4}
    return validate(
        {
            "data": {"name": "noise", "n": 64, "classes": classes},
            "generator": models,
            "discriminator": dict(models),
            "loss": "hinge",
            "training": {"epochs": 2, "batch_size": 16, "latent_dim": 8, "steps_per_execution": 2, **training},
            "output": {"checkpoint_every": 1, "grid": 2},
        },
        reg,
        source="sngan.yaml",
    )


@pytest.mark.parametrize("jit_compile, precision", [(True, "float32"), (False, "mixed_bfloat16")])
def test_d_stays_frozen_in_the_am_step_and_u_moves_in_the_d_step(reg, jit_compile, precision):
    model = build_model(recipe(reg, classes=3, precision=precision), (8, 8, 1), jit_compile=jit_compile, classes=3)
    real, labels = tf.zeros((16, 8, 8, 1)), tf.constant(np.arange(16) % 3, tf.int32)
    d_state = [v.numpy().copy() for v in model.discriminator.variables]
    g_step = tf.function(model._g_step, jit_compile=jit_compile)
    g_step(real, labels)
    assert all(np.array_equal(old, v.numpy()) for old, v in zip(d_state, model.discriminator.variables))
    us = [layer.u.numpy().copy() for layer in spectral_norms(model.discriminator)]
    assert {str(layer.u.dtype) for layer in spectral_norms(model.discriminator)} == {"float32"}
    tf.function(model._d_step, jit_compile=jit_compile)(real, labels)
    assert all(not np.array_equal(u, layer.u.numpy()) for u, layer in zip(us, spectral_norms(model.discriminator)))


def test_a_restored_checkpoint_carries_u_and_the_next_step_is_the_same(reg, tmp_path):
    from ganlab.training import checkpoint

    real = tf.random.stateless_uniform((16, 8, 8, 1), (1, 2), -1, 1)
    first = build_model(recipe(reg), (8, 8, 1), jit_compile=False)
    step = tf.function(first.train_step)
    step(real)
    path = checkpoint.save(first, tmp_path, epoch=1, step=1)
    step(real)
    second = build_model(recipe(reg), (8, 8, 1), jit_compile=False)
    checkpoint.restore(second, path)
    tf.function(second.train_step)(real)
    groups = [checkpoint.state_groups(model) for model in (first, second)]
    assert "u" in {v.name for v in groups[0]["discriminator"]}
    for group, variables in groups[0].items():
        assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(variables, groups[1][group])), group
