"""The arrays dataset: .npy and .npz files written here, the documented rule that makes their
values uint8, configurable keys, training through the run API, and every failure path.

No test touches the network or the real home: HOME, KERAS_HOME and GANLAB_DATA point into tmp_path.
"""

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.components.loading import load_registry
from ganlab.recipe.validate import validate
from ganlab.training.run import train
from ganlab_plugins.arrays import arrays
from tests.helpers import write_npz

pytestmark = pytest.mark.usefixtures("isolated_home")


def test_npz_images_and_labels(tmp_path):
    path = write_npz(tmp_path / "a.npz")
    data = arrays(str(path))
    x = np.load(path)["x"]
    assert data.images.shape == (40, 8, 8, 1) and data.images.dtype == np.uint8
    assert np.array_equal(data.images[..., 0], np.round((x + 1) * 127.5).astype(np.uint8))
    assert list(data.labels[:5]) == [0, 1, 2, 3, 0]
    assert data.description == f"40 images 8x8x1 from {path} [x], labels from 'y'"


@pytest.mark.parametrize(
    "array, float_range, expected",
    [
        (np.array([0, 128, 255], np.uint8), "auto", [0, 128, 255]),
        (np.array([0, 7, 255], np.int64), "auto", [0, 7, 255]),
        (np.array([0.0, 0.5, 1.0]), "auto", [0, 128, 255]),  # [0, 1]: x * 255, rounded half to even
        (np.array([-1.0, 0.0, 1.0]), "auto", [0, 128, 255]),  # [-1, 1]: (x + 1) * 127.5
        (np.array([0.0, 0.5, 1.0]), "-1..1", [128, 191, 255]),
    ],
)
def test_values_become_uint8_by_the_documented_rule(tmp_path, array, float_range, expected):
    np.save(tmp_path / "a.npy", np.broadcast_to(array[:, None, None], (3, 2, 2)).copy())
    data = arrays(str(tmp_path / "a.npy"), float_range=float_range)
    assert data.images[:, 0, 0, 0].tolist() == expected and data.labels is None


def test_npz_keys_are_configurable(tmp_path):
    np.savez(
        tmp_path / "a.npz", pics=np.zeros((3, 4, 4, 3), np.uint8), classes=np.array([[2], [0], [1]]), x=np.zeros(1)
    )
    data = arrays(str(tmp_path / "a.npz"), images_key="pics", labels_key="classes")
    assert data.image_shape == (4, 4, 3) and data.labels.tolist() == [2, 0, 1]
    np.savez(tmp_path / "b.npz", images=np.zeros((3, 4, 4), np.uint8), labels=np.arange(3))
    assert arrays(str(tmp_path / "b.npz")).labels.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "arrays_in_file, kwargs, message",
    [
        (dict(x=np.zeros((3, 3, 8, 8))), {}, r"\[x\]: images are float64 \(3, 3, 8, 8\); .*channels come last"),
        (dict(x=np.zeros((3, 8))), {}, r"expected \(n, height, width\) or \(n, height, width, 1 or 3\)"),
        (dict(x=np.full((2, 4, 4), 1.5)), {}, r"float images hold 1.5..1.5, outside \[0, 1\]"),
        (dict(x=np.full((2, 4, 4), np.nan)), {}, "NaN or infinite"),
        (dict(x=np.full((2, 4, 4), 300)), {}, "integer images must hold 0..255"),
        (dict(x=np.full((2, 4, 4), "a")), {}, "images are <U1; expected uint8 0..255 or floats"),
        (
            dict(x=np.zeros((2, 4, 4)), y=np.zeros((2, 3))),
            {},
            r"\[y\]: labels are float64 \(2, 3\); expected integers of shape \(2,\).*not one-hot",
        ),
        (dict(x=np.zeros((2, 4, 4)), y=np.array([0, -1])), {}, "labels hold -1; class indices start at 0"),
        (
            dict(pics=np.zeros((2, 4, 4))),
            {},
            r"no array 'x' or 'images' for the images \(it holds 'pics'\); set data.images_key",
        ),
        (
            dict(x=np.zeros((2, 4, 4))),
            dict(labels_key="lab"),
            r"no array 'lab' for the labels \(it holds 'x'\); set data.labels_key",
        ),
    ],
)
def test_bad_arrays_are_one_line(tmp_path, arrays_in_file, kwargs, message):
    np.savez(tmp_path / "a.npz", **arrays_in_file)
    with pytest.raises(GanlabError, match=message) as err:
        arrays(str(tmp_path / "a.npz"), **kwargs)
    assert len(err.value.lines) == 1 and str(err.value).startswith(str(tmp_path / "a.npz"))


def test_unreadable_array_files_are_one_line(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"junk")
    (tmp_path / "junk.npy").write_bytes(b"junk")
    np.save(tmp_path / "objects.npy", np.array([{}], dtype=object), allow_pickle=True)
    (tmp_path / "a.csv").write_text("1,2")
    np.save(tmp_path / "a.npy", np.zeros((2, 4, 4), np.uint8))
    cases = [
        ("junk.npz", {}, "cannot read it as a NumPy file .*not a zip archive"),
        ("junk.npy", {}, "cannot read it as a NumPy file"),
        ("objects.npy", {}, "cannot read it as a NumPy file .*allow_pickle"),
        ("a.csv", {}, "expected a .npy or .npz file, found a .csv"),
        ("missing.npz", {}, "no such file"),
        ("a.npy", dict(labels_key="y"), "a .npy file holds one array"),
    ]
    for name, kwargs, message in cases:
        with pytest.raises(GanlabError, match=message) as err:
            arrays(str(tmp_path / name), **kwargs)
        assert len(err.value.lines) == 1


def test_npz_recipe_trains_through_the_run_api(tmp_path):
    recipe = {
        "data": {"name": "arrays", "path": str(write_npz(tmp_path / "a.npz"))},
        "generator": {"name": "mlp", "hidden": [16]},
        "discriminator": {"name": "mlp", "hidden": [16]},
        "loss": "bce",
        "training": {"steps": 4, "batch_size": 8, "latent_dim": 8, "steps_per_execution": 2},
        "output": {"grid": 2},
    }
    run_dir = train(validate(recipe, load_registry(), source="npz.yaml"), out=tmp_path / "run")
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[1] == "4"
