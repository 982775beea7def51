"""Latent walks: spherical interpolation, the closed loop through the sample z, and writing GIF/MP4.
(Walks drawn from a trained run are in tests/test_api.py, which shares one run.)"""

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.interpolate import MIN_SIDE, slerp, walk, write
from ganlab.sampling import fixed_z


def test_slerp_keeps_to_the_great_circle_between_its_ends():
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    points = slerp(a, b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(points[0], a, atol=1e-12)
    np.testing.assert_allclose(points[-1], b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 2.0)  # the chord's middle would be at 1.41
    angles = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    np.testing.assert_allclose(angles, [0, 22.5, 45, 67.5, 90], atol=1e-9)  # equal steps along the arc
    np.testing.assert_allclose(slerp(a, 3 * a, np.array([0.5])), [2 * a])  # parallel: the straight line


def test_a_walk_is_a_closed_loop_through_the_samples_z():
    z = walk(6, 3, 4, "normal", seed=2)
    keys = fixed_z(6, 3, "normal", 2)  # what sample(3, seed=2) draws
    assert z.shape == (12, 6) and z.dtype == np.float32
    np.testing.assert_array_equal(z[::4], keys)
    steps = np.linalg.norm(np.diff(np.concatenate([z, z[:1]]), axis=0), axis=1)
    assert steps.max() < 0.5 * np.linalg.norm(keys[0] - keys[1])  # small steps, back to the start as well
    uniform = walk(6, 3, 4, "uniform", seed=2)
    assert uniform.min() >= -1.0 and uniform.max() <= 1.0  # straight lines stay in U(-1, 1)'s cube


@pytest.mark.parametrize("channels", [1, 3])
def test_a_gif_loops_with_every_frame_enlarged(tmp_path, channels):
    import imageio.v3 as iio

    frames = np.random.default_rng(0).uniform(0, 1, (5, 7, 9, channels)).astype(np.float32)
    write(tmp_path / "walk.gif", frames, fps=10)
    read = iio.imread(tmp_path / "walk.gif", index=None)
    assert read.shape[0] == 5 and read.shape[1] >= MIN_SIDE and read.shape[1] % 7 == 0 and read.shape[1] % 2 == 0
    factor = read.shape[1] // 7  # nearest neighbour: every factor-th pixel is the frame itself
    first = read[0][::factor, ::factor].reshape(7, 9, channels)
    np.testing.assert_array_equal(first, np.round(frames[0] * 255).astype(np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["walk.gif"]


def test_an_mp4_is_written_through_imageios_ffmpeg_plugin(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v3 as iio

    frames = np.linspace(0, 1, 4)[:, None, None, None] * np.ones((4, 8, 8, 1), np.float32)
    write(tmp_path / "walk.mp4", frames, fps=8)
    video = iio.imread(tmp_path / "walk.mp4", plugin="FFMPEG", index=None)
    assert video.shape[0] == 4 and video.shape[1] >= MIN_SIDE and video[0].mean() < video[-1].mean()


def test_mp4_without_the_ffmpeg_plugin_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    import sys

    from ganlab.interpolate import interpolate

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if it were not installed
    line = r"^writing .mp4 needs imageio's ffmpeg plugin: pip install imageio\[ffmpeg\] \(or write a .gif\)$"
    with pytest.raises(GanlabError, match=line):
        interpolate(tmp_path, tmp_path / "walk.mp4")  # refused before the run is even looked at
    assert list(tmp_path.iterdir()) == []
