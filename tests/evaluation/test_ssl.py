"""The self-supervised extractor: the sanity ordering of issue 19 on MNIST, its cache, its loss, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from ganlab.errors import GanlabError
from ganlab.evaluation import metrics, ssl, ssl_augment
from ganlab.evaluation.extractors import RealPart
from ganlab_plugins.mnist import MNIST
from tests.conftest import MNIST_DIR

#: A small budget that still ranks the sets as the default one does (docs/metrics.md gives both).
TINY = {"epochs": 2, "max_images": 1000, "batch_size": 128}
#: The defects of the ordering test, and why these strengths: docs/metrics.md, "Self-supervised extractor".
BLUR_SIGMA, NOISE_SIGMA, ONE_CLASS = 0.5, 0.1, 1


def gaussian_blur(unit, sigma):
    """Each image blurred over height and width by a Gaussian of ``sigma`` pixels (edges repeated)."""
    radius = max(1, int(np.ceil(2 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(unit, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="edge")
    h, w = unit.shape[1:3]
    rows = sum(k * padded[:, i : i + h] for i, k in enumerate(kernel))
    return sum(k * rows[:, :, i : i + w] for i, k in enumerate(kernel))


@pytest.fixture(scope="module")
def mnist_split(tmp_path_factory):
    """Disjoint MNIST sets: a training part (2,000; the encoder sees 1,000), reference (500),
    held-out (500) and one digit's images; the encoder, and the cache folder that holds it."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test split not found in {MNIST_DIR}")
    data = MNIST.load("test", str(MNIST_DIR), False)
    order = np.random.default_rng(123).permutation(len(data.images))
    images, labels = data.images[order], data.labels[order]
    rest_images, rest_labels = images[6000:], labels[6000:]
    cache = tmp_path_factory.mktemp("ssl-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANLAB_CACHE", str(cache))
        encoder = ssl.prepare(RealPart(images[:2000], labels[:2000], "mnist"), dict(TINY), log=lambda line: None)
    return {
        "train": images[:2000],
        "reference": images[5000:5500],
        "held_out": images[5500:6000],
        "one_class": rest_images[rest_labels == ONE_CLASS][:500],
        "cache": cache,
        "encoder": encoder,
    }


def test_real_held_out_is_closest_then_blurred_then_noised_then_one_class(mnist_split):
    encoder = mnist_split["encoder"]

    def features(unit):
        probs, feats = encoder.extract(unit)
        assert probs is None and feats.dtype == np.float64 and feats.shape == (len(unit), ssl.FEATURE_DIM)
        return feats

    reference = features(mnist_split["reference"] / 255.0)
    held_out = mnist_split["held_out"] / 255.0
    noise = np.random.default_rng(1).normal(0.0, NOISE_SIGMA, held_out.shape)
    fids = {
        name: metrics.fid(reference, features(unit))
        for name, unit in {
            "held-out": held_out,
            "blurred": gaussian_blur(held_out, BLUR_SIGMA),
            "noised": np.clip(held_out + noise, 0.0, 1.0),
            "one-class": mnist_split["one_class"] / 255.0,
        }.items()
    }
    values = list(fids.values())
    # Each set at least 1.5 times as far as the one before: an ordering, not a tie broken by chance.
    assert all(b > 1.5 * a for a, b in zip(values, values[1:])), fids


def test_the_second_prepare_loads_the_cached_file_and_gives_the_same_features(mnist_split, monkeypatch):
    monkeypatch.setenv("GANLAB_CACHE", str(mnist_split["cache"]))
    monkeypatch.setattr(ssl, "train", lambda *a, **k: pytest.fail("trained again despite the cache"))
    first = mnist_split["encoder"]
    again = ssl.prepare(RealPart(mnist_split["train"], None, "mnist"), dict(TINY), log=lambda line: None)
    assert again.provenance() == first.provenance()
    assert again.provenance()["file"].endswith(f"ssl-{first.provenance()['hash']}.keras")
    assert again.provenance()["trained_on"] == 1000 and not again.data_classes
    unit = mnist_split["held_out"][:50] / 255.0
    np.testing.assert_array_equal(again.extract(unit)[1], first.extract(unit)[1])


def test_any_channel_count_trains_and_the_same_data_gives_the_same_encoder(tmp_path, monkeypatch):
    images = np.random.default_rng(0).integers(0, 256, (8, 16, 18, 2), dtype=np.uint8)
    part, options = RealPart(images, None, "two-channel"), {"epochs": 1, "batch_size": 4}
    features = []
    for cache in ("a", "b"):
        monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / cache))
        features.append(ssl.prepare(part, dict(options), log=lambda line: None).extract(images / 255.0)[1])
    assert features[0].shape == (8, ssl.FEATURE_DIM)
    np.testing.assert_array_equal(features[0], features[1])


def test_images_too_small_and_bad_options_are_one_line():
    small = RealPart(np.zeros((4, 15, 32, 3), np.uint8), None, "tiny")
    with pytest.raises(GanlabError, match=r"needs images of at least 16x16 .* tiny's are 15x32x3"):
        ssl.prepare(small, {}, log=print)
    part = RealPart(np.zeros((4, 16, 16, 1), np.uint8), None, "ok")
    with pytest.raises(GanlabError, match="unknown ssl extractor option.* epoch:"):
        ssl.prepare(part, {"epoch": 3}, log=print)
    with pytest.raises(GanlabError, match="option epochs: expected a whole number >= 1, found 0"):
        ssl.prepare(part, {"epochs": 0}, log=print)


def test_a_cache_that_cannot_be_written_is_one_line_before_any_training(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GANLAB_CACHE", str(not_a_folder / "sub"))
    monkeypatch.setattr(ssl, "train", lambda *a, **k: pytest.fail("trained before finding out"))
    with pytest.raises(GanlabError, match="set GANLAB_CACHE to a folder you can write"):
        ssl.prepare(RealPart(np.zeros((4, 16, 16, 1), np.uint8), None, "x"), {}, log=print)


def test_nt_xent_matches_its_closed_form_for_orthogonal_images():
    # Two identical views of each of 3 orthogonal images: a view's partner has similarity 1,
    # the 4 other views 0, so the loss is -log(e^(1/t) / (e^(1/t) + 4)).
    t = ssl.TEMPERATURE
    eye = np.eye(3, 8, dtype=np.float32)
    loss = float(ssl.nt_xent(tf.constant(np.concatenate([eye, eye]))))
    assert loss == pytest.approx(-np.log(np.exp(1 / t) / (np.exp(1 / t) + 4)), rel=1e-5)
    shuffled = np.concatenate([eye, eye[[1, 2, 0]]])  # partners that are other images
    assert float(ssl.nt_xent(tf.constant(shuffled))) > loss + 1


def test_views_keep_shape_and_range_and_repeat_with_the_seed():
    unit = tf.constant(np.random.default_rng(0).random((6, 20, 17, 3)), tf.float32)
    first = ssl_augment.view(unit, tf.random.Generator.from_seed(5))
    again = ssl_augment.view(unit, tf.random.Generator.from_seed(5))
    assert first.shape == unit.shape and float(tf.reduce_min(first)) >= 0 and float(tf.reduce_max(first)) <= 1
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.allclose(first.numpy(), unit.numpy())
