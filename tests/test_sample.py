"""`ganlab sample`: grids and arrays from a finished run, and its bad-input paths."""

import imageio.v3 as iio
import numpy as np
import pytest

from ganlab.components.loading import load_registry
from tests import toy_plugins
from tests.conftest import run_cli
from tests.helpers import tiny


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from ganlab.training.run import train

    reg = load_registry(plugins=[("toolkit", toy_plugins.Toolkit())])
    return train(tiny(reg, epochs=1), out=tmp_path_factory.mktemp("sample") / "run")


def test_npz_has_n_images_in_unit_range_and_seed_matters(run_dir, tmp_path):
    for name, seed in (("a.npz", 0), ("b.npz", 0), ("c.npz", 1)):
        result = run_cli("sample", run_dir, "-n", 10, "--seed", seed, "-o", tmp_path / name)
        assert result.returncode == 0, result.stderr
    a, b, c = (np.load(tmp_path / n)["images"] for n in ("a.npz", "b.npz", "c.npz"))
    assert a.shape == (10, 8, 8, 1) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0 and a.std() > 0
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_png_grid(run_dir, tmp_path):
    result = run_cli("sample", run_dir, "-n", 9, "-o", tmp_path / "grid.png")
    assert result.returncode == 0, result.stderr
    grid = iio.imread(tmp_path / "grid.png")
    assert grid.dtype == np.uint8 and grid.shape[0] >= 3 * 8 and grid.shape[1] >= 3 * 8


@pytest.mark.parametrize(
    "args, message",
    [
        (["-n", "0", "-o", "x.png"], "-n 0: the number of images must be at least 1"),
        (["-o", "x.jpg"], "write a .png grid or an .npz array file"),
        (["-o", "missing/x.png"], "does not exist"),
    ],
)
def test_bad_sample_flags(run_dir, tmp_path, args, message):
    result = run_cli("sample", run_dir, *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_sample_needs_a_finished_run(tmp_path):
    result = run_cli("sample", tmp_path, "-o", tmp_path / "x.png")
    assert result.returncode == 2 and "no recipe.yaml" in result.stderr
