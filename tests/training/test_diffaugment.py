"""ganlab.training.diffaugment: DiffAugment's ops on known images and against NumPy references, shapes,
dtypes, gradients, XLA, ADA's per-image coin, and the recipe key ``training.diffaugment``."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError
from ganlab.training import d_input, diffaugment
from ganlab.training.options import DIFFAUGMENT_POLICIES, EngineOptions, diffaugment_policy
from tests.helpers import tiny

ALL = DIFFAUGMENT_POLICIES


def images(shape=(5, 6, 10, 3), seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32))


def view(seed=0, p=None):
    return d_input.View(tf.Variable(0, dtype=tf.int64), 10, keras.random.SeedGenerator(seed), p)


def test_the_ops_are_the_policys_names_in_order():
    assert tuple(diffaugment.OPS) == DIFFAUGMENT_POLICIES == ("color", "translation", "cutout")
    assert diffaugment_policy("cutout, color") == ("color", "cutout")
    assert diffaugment_policy(["translation"]) == ("translation",)
    assert diffaugment_policy("") is diffaugment_policy([]) is diffaugment_policy(None) is None


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("shape", [(3, 8, 8, 1), (3, 6, 10, 3), (3, 12, 8, 4), (3, 8, 8, 2)])
def test_every_op_keeps_shape_and_dtype_and_passes_gradients(shape, dtype):
    x = tf.cast(images(shape), dtype)
    for name in ALL:
        for op, columns in diffaugment.OPS[name]:
            u = tf.random.stateless_uniform((shape[0], columns), (1, 2))
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = op(x, u)
                total = tf.reduce_sum(tf.cast(y, tf.float32) * tf.cast(x, tf.float32))
            assert y.shape == x.shape and y.dtype == x.dtype, op.__name__
            assert np.any(tape.gradient(total, x).numpy() != 0), op.__name__


def test_translation_moves_pixels_by_whole_drawn_shifts_and_fills_with_zeros():
    x = np.arange(1, 2 * 8 * 16 + 1, dtype=np.float32).reshape(2, 8, 16, 1)  # no pixel is 0
    u = tf.constant([[0.99, 0.0], [0.5, 0.7]])  # shifts along rows: round(8/8) = 1, columns: round(16/8) = 2
    dy, dx = diffaugment.shifts(8, u[:, 0]).numpy(), diffaugment.shifts(16, u[:, 1]).numpy()
    assert dy.tolist() == [1, 0] and dx.tolist() == [-2, 1]
    moved = diffaugment.translation(tf.constant(x), u).numpy()
    for b in range(2):
        expected = np.zeros((8, 16, 1), np.float32)
        for r in range(8):
            for c in range(16):
                if 0 <= r + dy[b] < 8 and 0 <= c + dx[b] < 16:
                    expected[r + dy[b], c + dx[b]] = x[b, r, c]
        np.testing.assert_array_equal(moved[b], expected)


def test_shifts_cover_minus_to_plus_an_eighth_of_the_size():
    u = tf.linspace(0.0, 0.9999, 1000)
    assert sorted(set(diffaugment.shifts(32, u).numpy().tolist())) == list(range(-4, 5))
    assert sorted(set(diffaugment.shifts(28, u).numpy().tolist())) == list(range(-4, 5))


def test_cutout_zeroes_one_square_of_half_the_size_per_image():
    x = np.ones((3, 8, 12, 2), np.float32)
    u = tf.constant([[0.5, 0.5], [0.0, 0.0], [0.999, 0.3]])
    top, height = diffaugment.cut_box(8, u[:, 0])  # centres 0..8 for an even side
    left, width = diffaugment.cut_box(12, u[:, 1])
    assert (height, width) == (4, 6) and top.numpy().tolist() == [2, -2, 6] and left.numpy().tolist() == [3, -3, 0]
    out = diffaugment.cutout(tf.constant(x), u).numpy()
    squares = [(slice(2, 6), slice(3, 9)), (slice(0, 2), slice(0, 3)), (slice(6, 8), slice(0, 6))]
    for b, (rows, columns) in enumerate(squares):
        expected = np.ones((8, 12, 2), np.float32)
        expected[rows, columns] = 0  # every channel of the square; near a border, the part inside the image
        np.testing.assert_array_equal(out[b], expected)


def np_colour(x, u):
    """The reference code's brightness, saturation and contrast, in float64 on RGB images."""
    x = x.astype(np.float64) + (u[:, 0] - 0.5)[:, None, None, None]
    mean = x.mean(axis=3, keepdims=True)
    x = (x - mean) * (2 * u[:, 1])[:, None, None, None] + mean
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (u[:, 2] + 0.5)[:, None, None, None] + mean


def test_colour_matches_the_reference_for_fixed_draws_and_leaves_alpha_alone():
    rgba = images((4, 5, 7, 4)).numpy()
    u = np.random.default_rng(1).uniform(size=(4, 3)).astype(np.float32)
    x = tf.constant(rgba)
    for column, (op, _) in enumerate(diffaugment.OPS["color"]):
        x = op(x, tf.constant(u[:, column : column + 1]))
    np.testing.assert_allclose(x.numpy()[..., :3], np_colour(rgba[..., :3], u), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x.numpy()[..., 3], rgba[..., 3])
    gray = images((4, 5, 7, 1))
    np.testing.assert_array_equal(diffaugment.saturation(gray, tf.constant(u[:, :1])), gray)


def test_augment_draws_per_image_from_the_runs_seed_and_compiles_with_xla():
    x = images((4, 8, 8, 3))
    first = view(3)
    eager = diffaugment.augment(x, ALL, first)
    assert not np.array_equal(first.seed.state.numpy(), view(3).seed.state.numpy())  # the draws advanced it
    np.testing.assert_array_equal(diffaugment.augment(x, ALL, view(3)), eager)  # same seed state, same images
    per_image = [float(np.abs(eager[i] - x[i]).sum()) for i in range(4)]
    assert len(set(np.round(per_image, 4))) == 4  # each image drew its own augmentation
    # XLA draws other numbers than eager TensorFlow from the same seed, but the same on every run
    def run_compiled():
        fresh = view(3)
        return tf.function(lambda x: diffaugment.augment(x, ALL, fresh), jit_compile=True)(x)

    compiled = [run_compiled(), run_compiled()]
    assert compiled[0].shape == x.shape and np.array_equal(compiled[0], compiled[1])


def test_with_ada_each_op_applies_with_probability_p():
    x = images((2000, 8, 8, 1))
    np.testing.assert_array_equal(diffaugment.augment(x, ("cutout",), view(5, p=tf.Variable(0.0))), x)
    always = diffaugment.augment(x, ("cutout",), view(5))
    np.testing.assert_array_equal(diffaugment.augment(x, ("cutout",), view(5, p=tf.Variable(1.0))), always)
    cut = np.any(diffaugment.augment(x, ("cutout",), view(5, p=tf.Variable(0.3))).numpy() == 0, axis=(1, 2, 3))
    assert cut.mean() == pytest.approx(0.3, abs=0.04)


def test_the_recipe_key_turns_diffaugment_on_and_refuses_unknown_names(reg):
    options = EngineOptions.from_recipe(tiny(reg, diffaugment="translation,color"))
    assert options.diffaugment == ("color", "translation")
    assert EngineOptions.from_recipe(tiny(reg, diffaugment=[])).diffaugment is None
    with pytest.raises(GanlabError) as refused:
        tiny(reg, diffaugment="color,rotate")
    line = str(refused.value).splitlines()[-1]
    assert "training.diffaugment" in line and "'rotate'" in line and "color, translation, cutout" in line
