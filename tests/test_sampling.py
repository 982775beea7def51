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
        (["-n", "0", "-o", "x.png"], "argument -n: expected a whole number >= 1, found '0'"),
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


def test_npz_is_written_atomically(run_dir, tmp_path):
    from ganlab.sampling import sample

    sample(run_dir, tmp_path / "a.npz", n=3)
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]


def test_fixed_z_is_the_same_for_a_seed_and_uniform_noise_stays_in_range():
    from ganlab.sampling import fixed_z

    np.testing.assert_array_equal(fixed_z(4, 10, "normal", 3), fixed_z(4, 10, "normal", 3))
    assert not np.array_equal(fixed_z(4, 10, "normal", 3), fixed_z(4, 10, "normal", 4))
    uniform = fixed_z(4, 1000, "uniform", 0)
    assert uniform.dtype == np.float32 and uniform.min() >= -1.0 and uniform.max() <= 1.0


def test_cycling_labels_and_a_conditional_grid():
    from ganlab.sampling import cycling_labels, grid_inputs

    assert cycling_labels(7, 3).tolist() == [0, 1, 2, 0, 1, 2, 0]
    z, cols = grid_inputs(4, 3, "normal", 0)
    assert z.shape == (9, 4) and cols is None
    (z, labels), cols = grid_inputs(4, 3, "normal", 0, classes=2)
    assert z.shape == (6, 4) and cols == 3 and labels.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_array_equal(z[:3], z[3:])  # the same z along every row


def test_to_unit_maps_the_output_range_and_clips():
    from ganlab.sampling import to_unit

    np.testing.assert_allclose(to_unit([-1.0, 0.0, 1.0, 2.0], (-1.0, 1.0)), [0.0, 0.5, 1.0, 1.0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seed": -1}, "--seed -1: a seed must be a whole number from 0 to 4294967295"),
        ({"seed": 10**30}, "a seed must be a whole number from 0 to"),
        ({"n": 10**12}, r"-n 1000000000000: 1000000000000 images of 8x8x1 need about 506,639.5 GiB as float32, "
                        r"more than the .* of memory available; draw at most about"),
    ],
)
def test_seeds_out_of_range_and_counts_beyond_memory_are_one_line(run_dir, tmp_path, kwargs, message):
    from ganlab import GanlabError
    from ganlab.sampling import sample

    with pytest.raises(GanlabError, match=message) as refused:
        sample(run_dir, tmp_path / "x.npz", **kwargs)
    assert len(refused.value.lines) == 1 and list(tmp_path.iterdir()) == []


def test_memory_estimate_has_the_numbers():
    from ganlab import GanlabError
    from ganlab.sampling import check_memory

    check_memory(1000, (28, 28, 1), 100, available=10**9)
    with pytest.raises(GanlabError, match=r"-n 1000: 1000 images of 28x28x1 need about 6.4 MiB .* 0.6 MiB .* about 89"):
        check_memory(1000, (28, 28, 1), 100, available=6 * 10**5)


def test_a_read_only_output_folder_is_one_line(run_dir, tmp_path, monkeypatch):
    import errno
    import os

    from ganlab import GanlabError, rundir
    from ganlab.sampling import sample

    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))

    monkeypatch.setattr(rundir.os, "replace", read_only)  # root ignores permission bits: fail the write itself
    for name in ("x.png", "x.npz"):
        with pytest.raises(GanlabError, match=rf"-o .*{name}: cannot write it \(Read-only file system\)"):
            sample(run_dir, tmp_path / name, n=4)
    assert list(tmp_path.iterdir()) == []


def test_a_run_with_a_damaged_recipe_or_generator_is_one_line(run_dir, tmp_path):
    import shutil

    from ganlab import GanlabError
    from ganlab.sampling import sample

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    generator = copy / "generator.keras"
    generator.write_bytes(generator.read_bytes()[:100])
    with pytest.raises(GanlabError, match=r"generator.keras is damaged \(.*delete it and run 'ganlab run --resume"):
        sample(copy, tmp_path / "x.png")
    recipe = copy / "recipe.yaml"
    recipe.write_text(recipe.read_text()[:40])
    with pytest.raises(GanlabError, match=r"recipe.yaml is damaged \("):
        sample(copy, tmp_path / "x.png")


def test_truncation_moves_z_towards_the_mean_and_keeps_the_infogan_mode_entries():
    from ganlab.sampling import fixed_z, truncate

    z = fixed_z(5, 4, "normal", 0)
    kept = z.copy()
    assert truncate(z, None) is z
    np.testing.assert_array_equal(truncate(z, 1.0), z)
    half = truncate(z, 0.5, modes=2)
    np.testing.assert_array_equal(half[:, :2], z[:, :2])  # the argmax that chooses a mode is left alone
    np.testing.assert_allclose(half[:, 2:], 0.5 * z[:, 2:])
    np.testing.assert_array_equal(truncate(z, 0.0)[:, 1:], 0.0 * z[:, 1:])
    np.testing.assert_array_equal(z, kept)  # a copy, not in place


@pytest.mark.parametrize("psi", [1.01, -0.5, float("nan"), True, "0.5"])
def test_psi_outside_0_to_1_is_one_line(psi):
    from ganlab import GanlabError
    from ganlab.sampling import check_truncation

    with pytest.raises(GanlabError, match=r"^--truncation .*: psi must be a number from 0 \(every image from the mean"):
        check_truncation(psi)


def test_sample_truncation_zero_draws_the_mean_image_for_every_z(run_dir, tmp_path):
    from ganlab.cli import main
    from ganlab.sampling import sample

    for name, psi in (("mean.npz", "0"), ("full.npz", "1")):
        assert main(["sample", str(run_dir), "-n", "5", "--truncation", psi, "-o", str(tmp_path / name)]) == 0
    mean, full = (np.load(tmp_path / name)["images"] for name in ("mean.npz", "full.npz"))
    np.testing.assert_array_equal(mean, np.repeat(mean[:1], 5, axis=0))
    np.testing.assert_array_equal(full, sample(run_dir, n=5))  # psi 1 is no truncation
    assert np.ptp(full, axis=0).max() > 0
