"""The SN-ResNet models: sizes from the image shape, widths, attention, conditional variants, and
spectral normalisation through the real engine (D frozen in the AM step, u moved by the D step,
XLA and mixed_bfloat16, u in the checkpoint)."""

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


def test_d_stays_frozen_in_the_am_step_and_u_moves_in_the_d_step(reg):
    model = build_model(recipe(reg, classes=3), (8, 8, 1), classes=3)
    real, labels = tf.zeros((16, 8, 8, 1)), tf.constant(np.arange(16) % 3, tf.int32)
    d_state = [v.numpy().copy() for v in model.discriminator.variables]
    model._g_step(real, labels)
    assert all(np.array_equal(old, v.numpy()) for old, v in zip(d_state, model.discriminator.variables))
    us = [layer.u.numpy().copy() for layer in spectral_norms(model.discriminator)]
    model._d_step(real, labels)
    assert all(not np.array_equal(u, layer.u.numpy()) for u, layer in zip(us, spectral_norms(model.discriminator)))


@pytest.mark.parametrize("jit_compile, precision", [(True, "float32"), (False, "mixed_bfloat16")])
def test_a_train_step_advances_u_under_xla_and_mixed_bfloat16(reg, jit_compile, precision):
    model = build_model(recipe(reg, precision=precision), (8, 8, 1), jit_compile=jit_compile)
    layers = spectral_norms(model.discriminator)
    us = [layer.u.numpy().copy() for layer in layers]
    step = tf.function(model.train_step, jit_compile=True) if jit_compile else model.train_step  # else eager: cheap
    logs = step(tf.zeros((16, 8, 8, 1)))
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert all(not np.array_equal(u, layer.u.numpy()) for u, layer in zip(us, layers))
    assert {str(layer.u.dtype) for layer in layers} == {"float32"}


def test_a_resume_with_spectral_norm_and_ada_continues_exactly(reg, tmp_path):
    """u (advanced only in D's steps) and ADA's p are checkpointed: training on from a checkpoint
    gives exactly the weights, u and p of the run that never stopped."""
    from ganlab.training import checkpoint

    def model():
        return build_model(recipe(reg, diffaugment="color,translation", ada_target=0.6, ada_kimg=1), (8, 8, 1),
                           jit_compile=False)

    batches = [tf.constant(np.random.default_rng(i).uniform(-1, 1, (16, 8, 8, 1)).astype(np.float32)) for i in range(4)]
    first = model()
    first.ada.p.assign(0.5)
    for batch in batches[:2]:
        first.train_step(batch)
    path = checkpoint.save(first, tmp_path, epoch=1, step=2)
    saved_u = [layer.u.numpy() for layer in spectral_norms(first.discriminator)]
    for batch in batches[2:]:
        first.train_step(batch)
    second = model()
    checkpoint.restore(second, path)
    for batch in batches[2:]:
        second.train_step(batch)
    assert not np.array_equal(saved_u[0], spectral_norms(first.discriminator)[0].u.numpy())  # u moved after the save
    straight, again = checkpoint.state_groups(first), checkpoint.state_groups(second)
    for group in straight:
        for a, b in zip(straight[group], again[group]):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=group)
    pairs = zip(spectral_norms(first.discriminator), spectral_norms(second.discriminator))
    assert all(np.array_equal(a.u.numpy(), b.u.numpy()) for a, b in pairs)
