"""The MLP generator and discriminator: shapes, ranges, sizes, validation, registration."""

import subprocess
import sys

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.components.kinds import KINDS
from ganlab.components.params import builder_params
from ganlab_plugins import mlp

IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 100


def dense_params(sizes, batch_norm=False):
    """Weights + biases of a chain of Dense layers, plus 4 per unit for each hidden BatchNorm."""
    total = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))
    if batch_norm:  # gamma, beta, moving mean, moving variance after each hidden layer
        total += sum(4 * units for units in sizes[1:-1])
    return total


def test_hooks_register_mlp_for_both_players():
    generators, discriminators = {}, {}
    mlp.register_generators(lambda name, builder: generators.update({name: builder}))
    mlp.register_discriminators(lambda name, builder: discriminators.update({name: builder}))
    assert generators == {"mlp": mlp.mlp_generator}
    assert discriminators == {"mlp": mlp.mlp_discriminator}


def test_recipe_parameters_come_from_the_signatures():
    g = {p.name: p for p in builder_params(mlp.mlp_generator, KINDS["generator"].context_args)}
    d = {p.name: p for p in builder_params(mlp.mlp_discriminator, KINDS["discriminator"].context_args)}
    assert list(g) == ["hidden", "leaky_slope", "batch_norm", "bn_momentum", "dropout", "output_activation"]
    assert list(d) == ["hidden", "leaky_slope", "dropout"]
    assert g["hidden"].default == (256, 512, 1024) and d["hidden"].default == (512, 256)
    assert g["bn_momentum"].default == 0.8
    assert g["output_activation"].type_name == "tanh|sigmoid"
    assert g["hidden"].check([8, 16]) == (8, 16)


def test_default_generator_shape_size_and_range():
    g = mlp.mlp_generator(LATENT_DIM, IMAGE_SHAPE)
    assert g.name == "generator"
    assert g.count_params() == dense_params([100, 256, 512, 1024, 784], batch_norm=True)
    images = np.asarray(g(np.random.default_rng(0).normal(size=(5, LATENT_DIM)) * 10, training=False))
    assert images.shape == (5, *IMAGE_SHAPE)
    assert g.output_range == (-1.0, 1.0)
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.min() < 0 < images.max()


def test_sigmoid_generator_outputs_unit_range():
    g = mlp.mlp_generator(8, (4, 4, 3), hidden=(16,), batch_norm=False, output_activation="sigmoid")
    assert g.count_params() == dense_params([8, 16, 48])
    images = np.asarray(g(np.random.default_rng(0).normal(size=(3, 8)) * 10))
    assert images.shape == (3, 4, 4, 3)
    assert g.output_range == (0.0, 1.0)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_default_discriminator_outputs_one_unbounded_logit():
    d = mlp.mlp_discriminator(IMAGE_SHAPE)
    assert d.name == "discriminator"
    assert d.count_params() == dense_params([784, 512, 256, 1])
    logits = np.asarray(d(np.random.default_rng(0).uniform(-50, 50, size=(4, *IMAGE_SHAPE)), training=False))
    assert logits.shape == (4, 1)
    assert np.abs(logits).max() > 1.0  # a logit, not a probability


def test_dropout_and_batch_norm_layers_follow_the_parameters():
    g = mlp.mlp_generator(8, (2, 2, 1), hidden=(4, 4), batch_norm=False, dropout=0.3)
    d = mlp.mlp_discriminator((2, 2, 1), hidden=(4,), dropout=0.3, leaky_slope=0.1)
    g_kinds = [type(layer).__name__ for layer in g.layers]
    assert "BatchNormalization" not in g_kinds and g_kinds.count("HashDropout") == 2
    assert [layer.rate for layer in d.layers if type(layer).__name__ == "HashDropout"] == [0.3]
    assert [layer.negative_slope for layer in d.layers if type(layer).__name__ == "LeakyReLU"] == [0.1]
    default = mlp.mlp_generator(8, (2, 2, 1), hidden=(4,))
    assert [layer.momentum for layer in default.layers if type(layer).__name__ == "BatchNormalization"] == [0.8]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dropout": 1.5}, "generator mlp: dropout must be in [0, 1), found 1.5"),
        ({"dropout": -0.1}, "generator mlp: dropout must be in [0, 1), found -0.1"),
        ({"hidden": (256, 0)}, "generator mlp: hidden must be sizes >= 1, found [256, 0]"),
        ({"leaky_slope": -0.2}, "generator mlp: leaky_slope must be >= 0, found -0.2"),
        ({"bn_momentum": 1.0}, "generator mlp: bn_momentum must be in (0, 1), found 1.0"),
        ({"bn_momentum": 0.0}, "generator mlp: bn_momentum must be in (0, 1), found 0.0"),
        ({"output_activation": "relu"}, "generator mlp: output_activation must be 'tanh' or 'sigmoid', found 'relu'"),
    ],
)
def test_invalid_generator_parameters_raise_one_line(kwargs, message):
    with pytest.raises(GanlabError) as info:
        mlp.mlp_generator(LATENT_DIM, IMAGE_SHAPE, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dropout": 1.0}, "discriminator mlp: dropout must be in [0, 1), found 1.0"),
        ({"hidden": (-3,)}, "discriminator mlp: hidden must be sizes >= 1, found [-3]"),
        ({"leaky_slope": -1.0}, "discriminator mlp: leaky_slope must be >= 0, found -1.0"),
    ],
)
def test_invalid_discriminator_parameters_raise_one_line(kwargs, message):
    with pytest.raises(GanlabError) as info:
        mlp.mlp_discriminator(IMAGE_SHAPE, **kwargs)
    assert str(info.value) == message


def test_importing_the_plugin_does_not_import_tensorflow_or_keras():
    code = (
        "import sys, ganlab_plugins.mlp; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
