"""The conformance runner: the checks of each kind find broken components and say what is broken
in one line naming it; choosing what to check; ``ganlab check-plugin`` as a user meets it."""

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from ganlab import GanlabError, ImageData, Loss
from ganlab.components.component import Component
from ganlab.components.loading import load_registry
from ganlab.conformance import runner
from tests import toy_plugins as toys
from tests.conftest import run_cli
from tests.helpers import fake_distribution

IMAGE_SHAPE, LATENT_DIM = (8, 8, 1), 4


def failures(kind, builder, params=None):
    """The FAIL lines of the contract checks of ``builder`` registered as ``kind`` 'x' by plugin 'bad'."""
    results = runner.ComponentCheck(Component(kind, "x", builder, "bad"), params or {}, IMAGE_SHAPE, LATENT_DIM).run()
    return [r.line() for r in results if not r.ok]


def dense_generator(
    latent_dim: int, image_shape: tuple, activation: str = "tanh", shape: tuple[int, ...] | None = None
):
    """G with a configurable activation and output shape."""
    z = keras.Input((latent_dim,))
    shape = tuple(shape or image_shape)
    return keras.Model(z, keras.layers.Reshape(shape)(keras.layers.Dense(math.prod(shape), activation=activation)(z)))


@keras.saving.register_keras_serializable(package="ganlab_tests")
class Unused(keras.layers.Layer):
    """Passes its input through, next to a trainable variable it never uses."""

    def build(self, shape):
        self.orphan = self.add_weight(shape=(3,), name="orphan")

    def call(self, x):
        return x


class Unregistered(keras.layers.Layer):
    """A custom layer not registered with Keras: generator.keras cannot be loaded back."""

    def call(self, x):
        return keras.ops.tanh(x)


def generator_with(layer_class):
    def build(latent_dim: int, image_shape: tuple):
        z = keras.Input((latent_dim,))
        x = keras.layers.Dense(math.prod(image_shape), activation="tanh")(z)
        return keras.Model(z, keras.layers.Reshape(image_shape)(layer_class()(x)))

    return build


def test_a_linear_generator_breaks_its_output_range():
    [line] = failures("generator", dense_generator, {"activation": "linear"})
    assert line.startswith("FAIL  generator bad:x: output: with as given, z ~ ")
    assert (
        "outside output_range [-1.0, 1.0]; end with a bounded activation (tanh, sigmoid) or set model.output_range"
    ) in line


def test_a_generator_with_the_wrong_image_shape_fails_to_build():
    assert failures("generator", dense_generator, {"shape": [8, 8, 3]}) == [
        "FAIL  generator bad:x: builds: with as given: "
        "the model makes images of shape (8, 8, 3) for image_shape (8, 8, 1)"
    ]


def test_a_variable_that_gets_no_gradient_is_named():
    [line] = failures("generator", generator_with(Unused))
    assert line.startswith("FAIL  generator bad:x: gradients: eagerly: no gradient reaches trainable variable ")
    assert "orphan: it does not affect the output" in line


def test_an_unregistered_custom_layer_breaks_the_round_trip():
    [line] = failures("generator", generator_with(Unregistered))
    assert line.startswith("FAIL  generator bad:x: round trip: generator.keras does not load back (")
    assert line.endswith("register custom layers with keras.saving.register_keras_serializable")


def test_a_builder_that_returns_the_wrong_type():
    assert failures("generator", lambda latent_dim, image_shape: {"model": None}) == [
        "FAIL  generator bad:x: builds: with defaults: the builder must return a keras.Model, it returned dict"
    ]


def test_a_discriminator_with_two_outputs_per_image():
    def two_logits(image_shape: tuple):
        images = keras.Input(image_shape)
        return keras.Model(images, keras.layers.Dense(2)(keras.layers.Flatten()(images)))

    assert failures("discriminator", two_logits) == [
        "FAIL  discriminator bad:x: builds: with defaults: the model makes shape (2,) per image: "
        "it must output one logit per image, (batch, 1), without a sigmoid"
    ]


def test_a_discriminator_that_g_cannot_learn_through():
    def blocked(image_shape: tuple):
        images = keras.Input(image_shape)
        stopped = keras.layers.Lambda(keras.ops.stop_gradient)(keras.layers.Flatten()(images))
        return keras.Model(images, keras.layers.Dense(1)(stopped))

    assert failures("discriminator", blocked) == [
        "FAIL  discriminator bad:x: gradients: eagerly: no gradient reaches the input images (G learns through them)"
    ]


class PerImage(Loss):
    def d_loss(self, real_logits, fake_logits):
        return keras.ops.softplus(-real_logits) + keras.ops.softplus(fake_logits)

    def g_loss(self, fake_logits):
        return keras.ops.mean(keras.ops.softplus(-fake_logits))


class Naive(PerImage):
    """log(sigmoid(x)) through probabilities: infinite for a confident D."""

    def d_loss(self, real_logits, fake_logits):
        p_real, p_fake = keras.ops.sigmoid(real_logits), keras.ops.sigmoid(fake_logits)
        return -keras.ops.mean(keras.ops.log(p_real)) - keras.ops.mean(keras.ops.log(1 - p_fake))


class Constant(PerImage):
    def d_loss(self, real_logits, fake_logits):
        return keras.ops.mean(keras.ops.softplus(-real_logits)) + keras.ops.mean(keras.ops.softplus(fake_logits))

    def g_loss(self, fake_logits):
        return keras.ops.convert_to_tensor(1.0)


class Eager(Constant):
    """Reads a value out of the graph: fine eagerly, impossible in a compiled train step."""

    def g_loss(self, fake_logits):
        return keras.ops.mean(keras.ops.softplus(-fake_logits)) * float(np.asarray(fake_logits).std() > 0)


@pytest.mark.parametrize(
    "loss, line",
    [
        (
            PerImage,
            "values: with defaults, ordinary float32 logits: d_loss has shape (8, 1), "
            "expected a scalar (the mean over the batch)",
        ),
        (Naive, "values: with defaults, ordinary bfloat16 logits: d_loss is inf"),  # sigmoid rounds to 1 in bfloat16
        (Constant, "gradients: eagerly: g_loss: no gradient reaches G (through D)"),
        (Eager, "gradients: fails under XLA (training.jit_compile: true) on real and fake images (4, 8, 8, 1): "),
    ],
)
def test_broken_losses(loss, line):
    [found] = failures("loss", loss)
    assert found.startswith(f"FAIL  loss bad:x: {line}")


def test_a_loss_builder_that_returns_a_function():
    assert failures("loss", lambda: toys.explodes) == [
        "FAIL  loss bad:x: builds: with defaults: the builder must return a ganlab.Loss, it returned function"
    ]


def test_a_dataset_with_inconsistent_image_shapes():
    def ragged():
        return ImageData([np.zeros((8, 8, 1), np.uint8)] * 2 + [np.zeros((9, 8, 1), np.uint8)])

    assert failures("dataset", ragged) == [
        "FAIL  dataset bad:x: builds: with defaults: images have inconsistent shapes: "
        "image 0 is (8, 8, 1), image 2 is (9, 8, 1); every image must have the same (height, width, channels)"
    ]


def test_a_dataset_that_changes_between_builds_breaks_resume():
    rng = np.random.default_rng(0)

    def shuffled():
        return ImageData(rng.integers(0, 255, (16, 8, 8, 1), dtype=np.uint8))

    assert failures("dataset", shuffled) == [
        "FAIL  dataset bad:x: round trip: a second build returns other images (or another order): "
        "--resume would train on different batches"
    ]


def test_parameter_problems():
    def mistyped(latent_dim: int, image_shape: tuple, width: int = "8"):
        return dense_generator(latent_dim, image_shape)

    def unwritable(latent_dim, image_shape, folder=Path("data")):
        return dense_generator(latent_dim, image_shape)

    assert failures("generator", mistyped) == [
        "FAIL  generator bad:x: parameters: parameter 'width': its default does not match its annotation int: "
        "expected int, found str '8'"
    ]
    [line] = failures("generator", unwritable)
    assert line.startswith(
        "FAIL  generator bad:x: parameters: the parameters cannot be written to recipe.yaml: RepresenterError"
    )
    assert failures("generator", toys.needs_depth) == [
        "FAIL  generator bad:x: parameters: parameter 'depth' is required: give it a value (generator.x.depth=VALUE)"
    ]


def test_an_impossible_output_range():
    def inverted(latent_dim: int, image_shape: tuple):
        model = dense_generator(latent_dim, image_shape)
        model.output_range = (1.0, -1.0)
        return model

    assert failures("generator", inverted) == [
        "FAIL  generator bad:x: output: output_range must be finite with low < high, found (1.0, -1.0)"
    ]


def test_select_by_plugin_or_distribution_and_split_params():
    registry = load_registry()
    assert {c.qualified_name for c in runner.select(registry, "mlp")[0]} == {"mlp:mlp"}
    assert {c.plugin for c in runner.select(registry, "ganlab")[0]} >= {"mlp", "losses", "mnist", "dcgan"}
    with pytest.raises(GanlabError, match="no plugin or distribution 'nope' is installed"):
        runner.select(registry, "nope")
    components, _ = runner.select(registry, "mlp")
    assert runner.split_params(components, {"generator.mlp.hidden": [8]}) == {"mlp:mlp": {"hidden": (8,)}}
    hiden = r"generator.mlp.hiden: generator 'mlp' has no parameter 'hiden' — did you mean 'hidden'\?"
    with pytest.raises(GanlabError, match=hiden):
        runner.split_params(components, {"generator.mlp.hiden": [8]})
    not_its = r"loss.bce.label_smoothing: expected KIND.NAME.PARAM naming a component of the plugin"
    with pytest.raises(GanlabError, match=not_its):
        runner.split_params(components, {"loss.bce.label_smoothing": 0.1})


SOFTPLUS = """
    from ganlab import Loss, hookimpl


    class Softplus(Loss):
        def __init__(self, margin):
            self.margin = margin

        def d_loss(self, real_logits, fake_logits):
            import keras

            real = keras.ops.mean(keras.ops.softplus(self.margin - real_logits))
            return real + keras.ops.mean(keras.ops.softplus(fake_logits))

        def g_loss(self, fake_logits):
            import keras

            return keras.ops.mean(keras.ops.softplus(-fake_logits))


    def softplus(margin: float = 0.0):
        '''Non-saturating GAN loss with a margin on reals.'''
        return Softplus(margin)


    @hookimpl
    def register_losses(register):
        register('softplus', softplus)
"""


def test_check_plugin_cli_passes_a_good_plugin(tmp_path):
    path = fake_distribution(tmp_path, "ganlab_softplus", SOFTPLUS, {"soft": "ganlab_softplus"})
    env = {"PYTHONPATH": str(path)}
    result = run_cli("check-plugin", "ganlab-softplus", "--set", "loss.softplus.margin=1", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ok    loss soft:softplus: parameters: margin: float (all survive recipe.yaml)",
        "ok    loss soft:softplus: builds: as given",
        "ok    loss soft:softplus: values: finite scalars for ordinary, ±30 and bfloat16 logits, for 1 build(s); "
        "threshold 0.0",
        "ok    loss soft:softplus: gradients: d_loss moves D and g_loss moves G through D, eagerly and under XLA",
        "ok    loss soft:softplus: round trip: a rebuild from recipe.yaml gives the same values",
        "ganlab: check-plugin ganlab-softplus: all 5 checks of 1 component passed",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "ganlab: error: no plugin or distribution 'nope' is installed (plugins: {}; see ganlab list)"),
        (
            ["mnist", "--set", "data.split=test"],
            "ganlab: error: --set data.split=test: expected KIND.NAME.PARAM=VALUE, e.g. --set dataset.mnist.split=test",
        ),
        (
            ["mnist", "--set", "dataset.mnist.split=tset"],
            "ganlab: error: dataset.mnist.split: expected one of 'train', 'test', found 'tset'",
        ),
        (
            ["mlp", "--image-shape", "28,28"],
            "ganlab check-plugin: error: argument --image-shape: expected HEIGHT,WIDTH,CHANNELS such as 28,28,1, "
            "found '28,28' (see 'ganlab check-plugin --help')",
        ),
    ],
)
def test_check_plugin_bad_input_is_one_line_and_exit_2(args, message):
    result = run_cli("check-plugin", *args)
    plugins = ", ".join(sorted(p.name for p in load_registry().plugins))
    assert result.returncode == 2 and result.stderr.strip() == message.format(plugins)


FLAT_GP = """
    from ganlab import hookimpl
    from tests.toy_plugins import flat_penalty


    @hookimpl
    def register_losses(register):
        register('flat_gp', flat_penalty)
"""


def test_losses_are_checked_on_the_image_batches_of_a_run(tmp_path, capsys, monkeypatch):
    """A penalty that works only on flat (batch, features) inputs fails check-plugin, in one line."""
    from ganlab.cli import main

    monkeypatch.syspath_prepend(str(fake_distribution(tmp_path, "ganlab_flat", FLAT_GP, {"flat": "ganlab_flat"})))
    assert main(["check-plugin", "flat", "--image-shape", "8,8,1", "--latent-dim", "4"]) == 1
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert line.startswith(
        "FAIL  loss flat:flat_gp: gradients: fails eagerly on real and fake images (4, 8, 8, 1): "
    )


def test_a_nan_penalty_is_named():
    [line] = failures("loss", toys.NanPenalty)
    assert line == (
        "FAIL  loss bad:x: gradients: eagerly: penalty(discriminator, real, fake, seed) "
        "on real and fake images (4, 8, 8, 1) is nan"
    )


def test_a_discriminator_that_ends_in_a_sigmoid():
    def sigmoid_head(image_shape: tuple):
        images = keras.Input(image_shape)
        return keras.Model(images, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(images)))

    assert failures("discriminator", sigmoid_head) == [
        "FAIL  discriminator bad:x: output: with defaults: D's outputs never leave [0, 1], even for images pushed "
        "far along its gradient: it looks like D ends in a sigmoid; D must output logits (no final activation), "
        "the loss owns the link"
    ]
