"""Image grids, PNG files and the progress GIF."""

import imageio.v3 as iio
import numpy as np
import pytest

from ganlab.images import LAST_FRAME_HOLD, SEPARATOR_VALUE, SEPARATOR_WIDTH, save_png, to_grid, write_gif

SEP = SEPARATOR_WIDTH


def test_grayscale_grid_shape_and_separators():
    images = np.zeros((4, 5, 7, 1))
    grid = to_grid(images)
    assert grid.dtype == np.uint8
    assert grid.shape == (2 * 5 + SEP, 2 * 7 + SEP)
    assert (grid[5 : 5 + SEP, :] == SEPARATOR_VALUE).all()
    assert (grid[:, 7 : 7 + SEP] == SEPARATOR_VALUE).all()
    assert (grid[:5, :7] == 0).all() and (grid[5 + SEP :, 7 + SEP :] == 0).all()


def test_rgb_grid_is_near_square_and_keeps_tile_order():
    images = np.random.default_rng(0).random((10, 3, 4, 3))
    grid = to_grid(images)
    assert grid.shape == (3 * 3 + 2 * SEP, 4 * 4 + 3 * SEP, 3)  # ceil(sqrt(10)) = 4 columns, 3 rows
    tile_6 = grid[3 + SEP : 6 + SEP, 2 * (4 + SEP) : 2 * (4 + SEP) + 4]  # row 1, column 2
    np.testing.assert_array_equal(tile_6, np.round(images[6] * 255).astype(np.uint8))
    assert (grid[2 * (3 + SEP) :, 2 * (4 + SEP) :] == SEPARATOR_VALUE).all()  # empty cells of the last row


def test_cols_argument():
    assert to_grid(np.zeros((6, 2, 2, 1)), cols=6).shape == (2, 6 * 2 + 5 * SEP)
    assert to_grid(np.zeros((1, 2, 2, 3))).shape == (2, 2, 3)


def test_values_are_clipped():
    grid = to_grid(np.array([-0.5, 0.5, 1.5, np.nan]).reshape(1, 1, 4, 1))
    np.testing.assert_array_equal(grid, [[0, 128, 255, 0]])


@pytest.mark.parametrize("shape", [(2, 4, 4), (2, 4, 4, 2), (0, 4, 4, 1)])
def test_bad_shapes_raise(shape):
    with pytest.raises(ValueError, match="expected images of shape"):
        to_grid(np.zeros(shape))


@pytest.mark.parametrize("channels", [1, 3])
def test_png_round_trip_and_no_temp_files(tmp_path, channels):
    images = np.random.default_rng(1).random((5, 6, 6, channels))
    path = tmp_path / "new" / "grid.png"
    save_png(path, images)
    np.testing.assert_array_equal(iio.imread(path), to_grid(images))
    assert [p.name for p in path.parent.iterdir()] == ["grid.png"]


def frames(tmp_path, n, channels=1, size=6):
    paths = []
    for i in range(n):
        paths.append(tmp_path / f"epoch_{i + 1:04d}.png")
        save_png(paths[-1], np.full((4, size, size, channels), (i + 1) / n))
    return paths


@pytest.mark.parametrize("channels", [1, 3])
def test_gif_has_every_frame_loops_and_holds_the_last(tmp_path, channels):
    out = tmp_path / "progress.gif"
    write_gif(frames(tmp_path, 4, channels), out, duration=0.2)
    gif = iio.imread(out, index=None)
    assert gif.shape[0] == 4
    assert gif[0].mean() < gif[-1].mean()  # in the given order
    assert iio.immeta(out)["loop"] == 0
    assert [iio.immeta(out, index=i)["duration"] for i in range(4)] == [200, 200, 200, 200 * LAST_FRAME_HOLD]
    assert not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("channels", [1, 3])
def test_gif_reads_back_when_only_part_of_a_frame_changes(tmp_path, channels):
    images = np.random.default_rng(2).integers(0, 4, (4, 6, 6, channels)) / 3  # few colours: exact in a GIF
    paths = []
    for i in range(3):
        images[i] = 1 - images[i]  # one tile changes per frame
        paths.append(tmp_path / f"epoch_{i + 1:04d}.png")
        save_png(paths[-1], images)
    write_gif(paths, tmp_path / "progress.gif")
    gif = iio.imread(tmp_path / "progress.gif", index=None)
    expected = np.stack([iio.imread(p) for p in paths])
    np.testing.assert_array_equal(gif, expected)


def test_gif_of_one_frame(tmp_path):
    out = tmp_path / "progress.gif"
    write_gif(frames(tmp_path, 1), out)
    assert iio.imread(out, index=None).shape[0] == 1


def test_gif_frames_must_have_one_size(tmp_path):
    big = tmp_path / "big.png"
    save_png(big, np.zeros((4, 9, 9, 1)))
    with pytest.raises(ValueError, match="big.png"):
        write_gif([*frames(tmp_path, 2), big], tmp_path / "progress.gif")
    with pytest.raises(ValueError, match="at least one frame"):
        write_gif([], tmp_path / "progress.gif")
    assert not (tmp_path / "progress.gif").exists()
