"""The DCGAN generator and discriminator: shapes, ranges, sizes, validation, gradients, registration,
spectral normalisation in D, and a 64 px colour configuration through one train step."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError
from ganlab.components.kinds import KINDS
from ganlab.components.loading import load_registry
from ganlab.components.params import builder_params
from ganlab.conformance.runner import ComponentCheck
from ganlab.recipe.validate import validate
from ganlab.training.assemble import build_model
from ganlab.training.spectral_norm import spectral_norms
from ganlab_plugins import dcgan

IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 100
SHAPE_MESSAGE = (
    "image_shape must be (height, width, channels) with height and width 3..8 times 2**n, n >= 1 (e.g. 28, 32, 64)"
)


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def layers_of(model, kind):
    return [layer for layer in model.layers if type(layer).__name__ == kind]


def test_hooks_register_dcgan_for_both_players():
    generators, discriminators = {}, {}
    dcgan.register_generators(lambda name, builder: generators.update({name: builder}))
    dcgan.register_discriminators(lambda name, builder: discriminators.update({name: builder}))
    assert generators == {"dcgan": dcgan.dcgan_generator}
    assert discriminators == {"dcgan": dcgan.dcgan_discriminator}


def test_recipe_parameters_come_from_the_signatures():
    g = {p.name: p for p in builder_params(dcgan.dcgan_generator, KINDS["generator"].context_args)}
    d = {p.name: p for p in builder_params(dcgan.dcgan_discriminator, KINDS["discriminator"].context_args)}
    assert {name: p.default for name, p in g.items()} == {
        "base_filters": 128,
        "kernel_size": 4,
        "batch_norm": True,
        "bn_momentum": 0.9,
        "leaky_slope": 0.0,
        "output_activation": "tanh",
        "dense_units": 0,
    }
    assert {name: p.default for name, p in d.items()} == {
        "base_filters": 64,
        "kernel_size": 4,
        "leaky_slope": 0.2,
        "dropout": 0.0,
        "batch_norm": True,
        "bn_momentum": 0.9,
        "dense_units": 0,
        "spectral_norm": False,
    }
    assert [g[n].type_name for n in g] == [
        "int >= 1", "int >= 1", "bool", "float in (0, 1)", "float >= 0", "tanh|sigmoid", "int >= 0"
    ]
    assert [d[n].type_name for n in d] == [
        "int >= 1", "int >= 1", "float >= 0", "float in [0, 1)", "bool", "float in (0, 1)", "int >= 0", "bool"
    ]
    assert g["leaky_slope"].check(0) == 0.0 and isinstance(g["leaky_slope"].check(0), float)


@pytest.mark.parametrize(
    "image_shape, start, doublings",
    [((28, 28, 1), (7, 7, 256), 2), ((32, 32, 3), (4, 4, 512), 3), ((64, 64, 3), (4, 4, 1024), 4)],
)
def test_default_models_map_between_z_images_and_logits(image_shape, start, doublings):
    g = dcgan.dcgan_generator(LATENT_DIM, image_shape)
    d = dcgan.dcgan_discriminator(image_shape)
    assert layers_of(g, "Reshape")[0].output.shape[1:] == start
    assert len(layers_of(g, "Conv2DTranspose")) == doublings
    assert [layer.filters for layer in layers_of(d, "Conv2D")] == [64 * 2**i for i in range(doublings)]
    images = np.asarray(g(np.random.default_rng(0).normal(size=(2, LATENT_DIM)), training=False))
    assert images.shape == (2, *image_shape)
    assert np.asarray(d(images, training=False)).shape == (2, 1)


def test_non_square_images_use_the_doublings_both_sides_allow():
    g = dcgan.dcgan_generator(8, (28, 32, 3), base_filters=4)
    d = dcgan.dcgan_discriminator((28, 32, 3), base_filters=4)
    assert layers_of(g, "Reshape")[0].output.shape[1:] == (7, 8, 8)
    assert g.output_shape == (None, 28, 32, 3) and d.output_shape == (None, 1)


def test_default_sizes_for_mnist():
    g = dcgan.dcgan_generator(LATENT_DIM, IMAGE_SHAPE)
    d = dcgan.dcgan_discriminator(IMAGE_SHAPE)
    assert g.name == "generator" and d.name == "discriminator"
    # Dense without bias + BN(4 per unit), ConvT 256->128 without bias + BN, ConvT 128->1 with bias
    dense = 7 * 7 * 256
    assert g.count_params() == 100 * dense + 4 * dense + 4 * 4 * 256 * 128 + 4 * 128 + 4 * 4 * 128 + 1
    # Conv 1->64 with bias (no BN), Conv 64->128 without bias + BN, Dense 7*7*128 -> 1
    assert d.count_params() == 4 * 4 * 64 + 64 + 4 * 4 * 64 * 128 + 4 * 128 + 7 * 7 * 128 + 1
    assert 1_000_000 <= g.count_params() <= 3_000_000


@pytest.mark.parametrize("activation, low, high", [("tanh", -1.0, 1.0), ("sigmoid", 0.0, 1.0)])
def test_generator_output_range_follows_the_activation(activation, low, high):
    g = dcgan.dcgan_generator(16, (16, 16, 3), base_filters=8, output_activation=activation)
    assert g.output_range == (low, high)
    images = np.asarray(g(np.random.default_rng(0).normal(size=(8, 16)) * 100, training=True))
    assert images.shape == (8, 16, 16, 3)
    assert images.min() >= low and images.max() <= high
    assert images.min() < (low + high) / 2 < images.max()


def test_discriminator_outputs_one_unbounded_logit():
    d = dcgan.dcgan_discriminator(IMAGE_SHAPE, base_filters=8)
    logit = d.get_layer("logit")
    assert d.layers[-1] is logit and logit.get_config()["activation"] == "linear"
    kernel, bias = logit.get_weights()  # N(0, 0.02) weights give small logits: spread them out
    logit.set_weights([kernel * 1000, bias])
    logits = np.asarray(d(np.random.default_rng(0).uniform(-1, 1, size=(16, *IMAGE_SHAPE)), training=True))
    assert logits.shape == (16, 1)
    assert logits.min() < 0 < 1 < logits.max()  # a logit, not a probability


def test_layers_follow_the_paper_and_the_parameters():
    g = dcgan.dcgan_generator(8, (32, 32, 1), base_filters=4)
    d = dcgan.dcgan_discriminator((32, 32, 1), base_filters=4)
    # G: BN after the Dense and each hidden ConvT, not after the output; ReLU by default
    assert kinds(g).count("BatchNormalization") == 3 and kinds(g).count("ReLU") == 3
    assert "LeakyReLU" not in kinds(g) and kinds(g)[-1] == "Conv2DTranspose"
    assert [layer.use_bias for layer in layers_of(g, "Conv2DTranspose")] == [False, False, True]
    # D: BN on all but the first convolution, LeakyReLU(0.2), no dropout by default
    assert kinds(d).count("BatchNormalization") == 2 and "HashDropout" not in kinds(d)
    assert [layer.use_bias for layer in layers_of(d, "Conv2D")] == [True, False, False]
    assert [layer.negative_slope for layer in layers_of(d, "LeakyReLU")] == pytest.approx([0.2] * 3)
    batch_norms = layers_of(g, "BatchNormalization") + layers_of(d, "BatchNormalization")
    assert {layer.momentum for layer in batch_norms} == {0.9}

    g = dcgan.dcgan_generator(8, (32, 32, 1), base_filters=4, batch_norm=False, leaky_slope=0.1, kernel_size=5)
    d = dcgan.dcgan_discriminator((32, 32, 1), base_filters=4, batch_norm=False, dropout=0.3, kernel_size=3)
    assert "BatchNormalization" not in kinds(g) + kinds(d)
    assert all(layer.use_bias for layer in layers_of(g, "Conv2DTranspose") + layers_of(d, "Conv2D"))
    assert [layer.negative_slope for layer in layers_of(g, "LeakyReLU")] == pytest.approx([0.1] * 3)
    assert {layer.kernel_size for layer in layers_of(g, "Conv2DTranspose")} == {(5, 5)}
    assert {layer.kernel_size for layer in layers_of(d, "Conv2D")} == {(3, 3)}
    assert [layer.rate for layer in layers_of(d, "HashDropout")] == [0.3] * 3


def test_dense_units_add_one_hidden_dense_layer_to_either_player():
    g = dcgan.dcgan_generator(8, (32, 32, 1), base_filters=4, dense_units=24)
    d = dcgan.dcgan_discriminator((32, 32, 1), base_filters=4, dense_units=24, dropout=0.3)
    # G: z -> Dense(24) -> BN -> ReLU -> Dense(4x4x16) -> ...;
    # D: ... -> Flatten -> Dense(24) -> LeakyReLU -> Dropout -> logit
    assert [layer.units for layer in layers_of(g, "Dense")] == [24, 4 * 4 * 16]
    assert kinds(g)[:8] == [
        "InputLayer",
        "Dense",
        "BatchNormalization",
        "ReLU",
        "Dense",
        "BatchNormalization",
        "ReLU",
        "Reshape",
    ]
    assert [layer.units for layer in layers_of(d, "Dense")] == [24, 1]
    assert kinds(d)[-5:] == ["Flatten", "Dense", "LeakyReLU", "HashDropout", "Dense"]
    assert g(np.zeros((2, 8), "float32")).shape == (2, 32, 32, 1)
    assert d(np.zeros((2, 32, 32, 1), "float32")).shape == (2, 1)


def test_spectral_norm_wraps_every_convolution_and_dense_layer_of_d():
    d = dcgan.dcgan_discriminator((32, 32, 3), base_filters=4, dense_units=8, spectral_norm=True, batch_norm=False)
    wrapped = [type(layer.layer).__name__ for layer in spectral_norms(d)]
    assert wrapped == ["Conv2D"] * 3 + ["Dense"] * 2
    assert not {"Conv2D", "Dense", "BatchNormalization"} & set(kinds(d))
    assert d.layers[-1] is d.get_layer("logit") and type(d.get_layer("logit")).__name__ == "SpectralNorm"
    assert spectral_norms(dcgan.dcgan_discriminator((32, 32, 3), base_filters=4)) == []
    with_bn = dcgan.dcgan_discriminator((32, 32, 3), base_filters=4, spectral_norm=True)  # allowed, not SNGAN's
    assert kinds(with_bn).count("BatchNormalization") == 2 and len(spectral_norms(with_bn)) == 4


def test_a_spectrally_normalised_d_honours_the_discriminator_contract():
    component = load_registry().resolve("discriminator", "dcgan")
    params = {"base_filters": 4, "spectral_norm": True, "batch_norm": False}
    results = ComponentCheck(component, params, image_shape=(16, 16, 3), latent_dim=8).run()
    assert [r.line() for r in results if not r.ok] == []
    assert "frozen in g step" in {r.check for r in results}


def test_64_px_colour_images_train_with_diffaugment_and_spectral_norm(reg):
    """The 64 px configuration: four doublings from a 4x4 start in both players, one train step."""
    models = {"name": "dcgan", "base_filters": 4}
    recipe = validate(
        {
            "data": {"name": "noise", "n": 8},
            "generator": models,
            "discriminator": {**models, "spectral_norm": True, "batch_norm": False},
            "loss": "hinge",
            "training": {"epochs": 1, "batch_size": 4, "latent_dim": 8, "diffaugment": "color,translation,cutout"},
        },
        reg,
        source="dcgan64.yaml",
    )
    model = build_model(recipe, (64, 64, 3), jit_compile=False)
    g, d = model.generator, model.discriminator
    assert model.options.diffaugment == ("color", "translation", "cutout")
    assert layers_of(g, "Reshape")[0].output.shape[1:] == (4, 4, 32) and len(layers_of(g, "Conv2DTranspose")) == 4
    assert g.output_shape == (None, 64, 64, 3) and len(spectral_norms(d)) == 5
    us = [layer.u.numpy().copy() for layer in spectral_norms(d)]
    logs = model.train_step(tf.random.uniform((4, 64, 64, 3), -1, 1, seed=0))
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert all(not np.array_equal(u, layer.u.numpy()) for u, layer in zip(us, spectral_norms(d)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_filters": 0}, "generator dcgan: base_filters must be >= 1, found 0"),
        ({"kernel_size": 0}, "generator dcgan: kernel_size must be >= 1, found 0"),
        ({"leaky_slope": -0.2}, "generator dcgan: leaky_slope must be >= 0, found -0.2"),
        ({"bn_momentum": 1.0}, "generator dcgan: bn_momentum must be in (0, 1), found 1.0"),
        ({"bn_momentum": 0.0}, "generator dcgan: bn_momentum must be in (0, 1), found 0.0"),
        ({"output_activation": "relu"}, "generator dcgan: output_activation must be 'tanh' or 'sigmoid', found 'relu'"),
        ({"dense_units": -1}, "generator dcgan: dense_units must be >= 0, found -1"),
    ],
)
def test_invalid_generator_parameters_raise_one_line(kwargs, message):
    with pytest.raises(GanlabError) as info:
        dcgan.dcgan_generator(LATENT_DIM, IMAGE_SHAPE, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_filters": -64}, "discriminator dcgan: base_filters must be >= 1, found -64"),
        ({"kernel_size": 0}, "discriminator dcgan: kernel_size must be >= 1, found 0"),
        ({"leaky_slope": -1.0}, "discriminator dcgan: leaky_slope must be >= 0, found -1.0"),
        ({"dropout": 1.0}, "discriminator dcgan: dropout must be in [0, 1), found 1.0"),
        ({"dropout": -0.1}, "discriminator dcgan: dropout must be in [0, 1), found -0.1"),
        ({"bn_momentum": 1.5}, "discriminator dcgan: bn_momentum must be in (0, 1), found 1.5"),
        ({"dense_units": -8}, "discriminator dcgan: dense_units must be >= 0, found -8"),
    ],
)
def test_invalid_discriminator_parameters_raise_one_line(kwargs, message):
    with pytest.raises(GanlabError) as info:
        dcgan.dcgan_discriminator(IMAGE_SHAPE, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "image_shape", [(30, 30, 1), (34, 34, 3), (100, 100, 3), (5, 5, 1), (28, 30, 1), (28, 28), (0, 0, 1)]
)
def test_image_sizes_that_doublings_cannot_reach_raise_one_line(image_shape):
    with pytest.raises(GanlabError) as info:
        dcgan.dcgan_generator(LATENT_DIM, image_shape)
    assert str(info.value) == f"generator dcgan: {SHAPE_MESSAGE}, found {image_shape!r}"
    with pytest.raises(GanlabError) as info:
        dcgan.dcgan_discriminator(list(image_shape))
    assert str(info.value) == f"discriminator dcgan: {SHAPE_MESSAGE}, found {image_shape!r}"


def test_gradients_reach_every_generator_variable_through_the_discriminator():
    g = dcgan.dcgan_generator(8, (16, 16, 1), base_filters=4)
    d = dcgan.dcgan_discriminator((16, 16, 1), base_filters=4, dropout=0.2)
    z = tf.random.normal((4, 8), seed=0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(d(g(z, training=True), training=True))
    gradients = tape.gradient(loss, g.trainable_variables)
    assert len(gradients) == len(g.trainable_variables) > 0
    for variable, gradient in zip(g.trainable_variables, gradients):
        assert gradient is not None, variable.path
        assert float(tf.reduce_max(tf.abs(gradient))) > 0, variable.path


def test_importing_the_plugin_does_not_import_tensorflow_or_keras():
    code = (
        "import sys, ganlab_plugins.dcgan; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_both_players_come_through_the_installed_entry_point():
    registry = load_registry()
    for kind, builder in (("generator", dcgan.dcgan_generator), ("discriminator", dcgan.dcgan_discriminator)):
        component = registry.resolve(kind, "dcgan")
        assert component.builder is builder
        assert (component.plugin, component.distribution) == ("dcgan", "ganlab")
        assert component.summary.startswith("Convolutional ")


def test_a_spectrally_normalised_conditional_d_normalises_its_label_projection_too():
    component = load_registry().resolve("discriminator", "cdcgan")
    d = component.build(image_shape=(16, 16, 3), num_classes=3, base_filters=4, spectral_norm=True, batch_norm=False)
    assert "Embedding" in [type(layer.layer).__name__ for layer in spectral_norms(d)]
    plain = component.build(image_shape=(16, 16, 3), num_classes=3, base_filters=4)
    assert spectral_norms(plain) == []
