"""What the contract checks cannot know: each component does what its paper says."""

import math
import subprocess
import sys

import numpy as np
import pytest
from ganlab import GanlabError

from conftest import write_digits_csv
from ganlab_extras.csv_pixels import csv_pixels
from ganlab_extras.fgan import THRESHOLDS, fgan
from ganlab_extras.spectral import sn_conv
from ganlab_extras.upsample import upsample_conv

REAL = np.array([[2.0], [0.5], [-1.0], [3.0]], np.float32)
FAKE = np.array([[-1.5], [0.0], [1.0], [-3.0]], np.float32)


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


#: Nowozin et al. (2016), Table 6: output activation g_f and conjugate f*, written literally.
TABLE = {
    "kl": (lambda v: v, lambda t: np.exp(t - 1)),
    "reverse_kl": (lambda v: -np.exp(-v), lambda t: -1 - np.log(-t)),
    "pearson": (lambda v: v, lambda t: t**2 / 4 + t),
    "squared_hellinger": (lambda v: 1 - np.exp(-v), lambda t: t / (1 - t)),
    "jensen_shannon": (lambda v: math.log(2) - softplus(-v), lambda t: -np.log(2 - np.exp(t))),
}


@pytest.mark.parametrize("divergence", sorted(TABLE))
def test_fgan_matches_the_papers_table(divergence):
    g_f, conjugate = TABLE[divergence]
    real, fake = REAL.astype(np.float64), FAKE.astype(np.float64)
    loss = fgan(divergence)
    assert float(loss.d_loss(REAL, FAKE)) == pytest.approx(np.mean(conjugate(g_f(fake))) - np.mean(g_f(real)), rel=1e-5)
    assert float(loss.g_loss(FAKE)) == pytest.approx(-np.mean(g_f(fake)), rel=1e-5)


@pytest.mark.parametrize("divergence", sorted(TABLE))
def test_fgan_threshold_is_f_prime_of_one(divergence):
    # At p = q the optimal T is f'(1); D's accuracy threshold is the logit giving it.
    f_prime_at_1 = {
        "kl": 1.0,
        "reverse_kl": -1.0,
        "pearson": 0.0,
        "squared_hellinger": 0.0,
        "jensen_shannon": 0.0,
    }[divergence]
    g_f, _ = TABLE[divergence]
    assert g_f(np.float64(fgan(divergence).threshold)) == pytest.approx(f_prime_at_1)
    assert fgan(divergence).threshold == THRESHOLDS[divergence]


def test_fgan_jensen_shannon_is_twice_the_gan_loss_minus_log_4():
    loss = fgan("jensen_shannon")
    bce = np.mean(softplus(-REAL)) + np.mean(softplus(FAKE))  # the discriminator's loss of the original GAN
    assert float(loss.d_loss(REAL, FAKE)) == pytest.approx(bce - 2 * math.log(2), rel=1e-5)


def test_fgan_rejects_an_unknown_divergence():
    with pytest.raises(GanlabError, match="loss fgan: divergence must be one of kl, reverse_kl"):
        fgan("wasserstein")


def test_upsample_conv_resizes_then_convolves():
    g = upsample_conv(8, (28, 28, 1), base_filters=4, interpolation="bilinear")
    kinds = [type(layer).__name__ for layer in g.layers]
    assert kinds.count("UpSampling2D") == 2 and "Conv2DTranspose" not in kinds
    assert {layer.interpolation for layer in g.layers if type(layer).__name__ == "UpSampling2D"} == {"bilinear"}
    assert [layer.filters for layer in g.layers if type(layer).__name__ == "Conv2D"] == [8, 4, 1]
    assert [layer.output.shape[1:] for layer in g.layers if type(layer).__name__ == "Reshape"] == [(7, 7, 8)]
    assert upsample_conv(8, (32, 32, 3), upsamples=3, base_filters=4).output_shape == (None, 32, 32, 3)


def test_upsample_conv_refuses_sizes_it_cannot_reach():
    with pytest.raises(GanlabError, match=r"divisible by 2\*\*upsamples = 8, found 28x28; lower upsamples"):
        upsample_conv(8, (28, 28, 1), upsamples=3)


def test_sn_conv_kernels_have_spectral_norm_one():
    from ganlab.training.spectral_norm import advance, spectral_norms

    d = sn_conv((16, 16, 1), base_filters=4)
    layers = spectral_norms(d)
    assert len(layers) == 5 and layers[-1].name == "logit"
    for _ in range(50):  # one power iteration per D step; the estimate carries over
        advance(d)
    for layer in layers:
        kernel = np.asarray(layer.layer.kernel).reshape(-1, layer.layer.filters)
        sigma = float(layer.sigma())
        assert sigma == pytest.approx(np.linalg.svd(kernel, compute_uv=False)[0], rel=1e-2)
        assert np.linalg.svd(kernel / sigma, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-2)


def test_sn_conv_calls_leave_the_estimate_alone():
    d = sn_conv((8, 8, 1), downsamples=1, base_filters=2)
    images = np.ones((2, 8, 8, 1), np.float32)
    before = [np.asarray(v) for v in d.variables]
    first, second = np.asarray(d(images, training=True)), np.asarray(d(images))
    np.testing.assert_array_equal(first, second)
    assert all(np.array_equal(b, np.asarray(v)) for b, v in zip(before, d.variables))


def test_csv_with_header_and_labels(digits_csv):
    data = csv_pixels(str(digits_csv))
    images, digits = write_digits_csv(digits_csv.with_name("again.csv"))
    assert data.images.shape == (64, 28, 28, 1) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images[..., 0], images)
    np.testing.assert_array_equal(data.labels, digits)
    assert len(csv_pixels(str(digits_csv), limit=10)) == 10


@pytest.mark.parametrize("labels", [True, False])
def test_csv_without_header_recognises_a_label_by_the_row_length(tmp_path, labels):
    path = tmp_path / "digits.csv"
    images, digits = write_digits_csv(path, n=5, size=4, header=False, labels=labels)
    data = csv_pixels(str(path), height=4, width=4)
    np.testing.assert_array_equal(data.images[..., 0], images)
    assert (data.labels is not None) == labels and (not labels or list(data.labels) == list(digits))


def test_csv_rgb_pixels_are_channels_innermost(tmp_path):
    path = tmp_path / "rgb.csv"
    path.write_text("r0,g0,b0,r1,g1,b1\n1,2,3,4,5,6\n")
    data = csv_pixels(str(path), height=1, width=2, channels=3, label_column=None)
    assert data.images.tolist() == [[[[1, 2, 3], [4, 5, 6]]]] and data.labels is None


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("", {}, "the file is empty"),
        ("label,p0,p1,p2,p3\n", {}, "no rows of pixel values"),
        ("label,p0,p1,p2,p3\n1,0,1,2,3\n2,0,x,2,3\n", {}, "line 3, column 3: 'x' is not a number"),
        ("label,p0,p1,p2,p3\n1,0,1,2,3\n2,0,1,2\n", {}, "line 3 holds 4 values, the lines before it 5"),
        (
            "label,p0,p1,p2,p3\n1,0,1,2,300\n",
            {},
            "line 2, column p3: found 300; pixel values must be whole numbers 0..255",
        ),
        (
            "label,p0,p1,p2,p3\n1,0,0.5,2,3\n",
            {},
            "line 2, column p1: found 0.5; pixel values must be whole numbers 0..255",
        ),
        ("label,p0,p1,p2,p3\n-1,0,1,2,3\n", {}, "line 2, column label: found -1; labels must be whole numbers >= 0"),
        (
            "digit,p0,p1,p2,p3\n1,0,1,2,3\n",
            {},
            "no column 'label' in the header (digit, p0, p1, ...); "
            "set label_column to the label column, or null for a file without labels",
        ),
        (
            "label,p0,p1,p2,p3\n1,0,1,2,3\n",
            {"height": 3},
            "rows hold 4 pixel values, 3x2x1 images need 6; set height, width and channels to match",
        ),
        ("label,p0,p1\n1,0,1,2,3\n", {}, "the header names 3 columns, the rows hold 5 values"),
    ],
)
def test_bad_csv_files_are_one_line_naming_the_file(tmp_path, text, kwargs, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(GanlabError) as info:
        csv_pixels(str(path), **{"height": 2, "width": 2, **kwargs})
    assert str(info.value) == f"dataset csv_pixels: {path}: {message}"


def test_missing_csv_file(tmp_path):
    with pytest.raises(GanlabError, match=r"cannot read \(No such file or directory\); set data.path to the CSV file"):
        csv_pixels(str(tmp_path / "nope.csv"))


def test_importing_the_plugin_does_not_import_tensorflow():
    code = "import sys, ganlab_extras; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
