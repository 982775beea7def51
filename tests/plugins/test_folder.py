"""The image_folder dataset: tiny image files written here, resizing, channels, alpha, 16-bit
PNGs, labels by subfolder, the decoded-image cache, streaming from the files, training on them
through the CLI, and every failure path.

No test touches the network or the real home: HOME, KERAS_HOME, GANLAB_DATA and GANLAB_CACHE
point into tmp_path.
"""

import imageio.v3 as iio
import numpy as np
import pytest

from ganlab import GanlabError, ImageFiles
from ganlab.components.params import rule_problem
from ganlab.training.stream import real_stream
from ganlab_plugins import folder as folder_plugin
from ganlab_plugins.folder import image_folder
from ganlab_plugins.folder_decode import Decoding
from tests.conftest import run_cli
from tests.helpers import write_images

pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "image_folder"


def test_folder_resizes_converts_and_labels_by_subfolder(tmp_path):
    pngs = write_images(tmp_path / "d")
    data = image_folder(str(tmp_path / "d"), size=(6, 8), channels=1, labels=True)
    assert data.images.shape == (12, 6, 8, 1) and data.images.dtype == np.uint8
    assert list(data.labels) == [0] * 6 + [1] * 6
    assert "12 images 6x8x1" in data.description and "0 cats, 1 dogs" in data.description
    # at its own size, a PNG comes back exactly (JPEG is lossy)
    same = image_folder(str(tmp_path / "d"), labels=True)
    assert np.array_equal(same.images[0], pngs[tmp_path / "d" / "cats" / "00.png"])


def test_folder_grayscale_rgb_and_alpha(tmp_path):
    (tmp_path / "d").mkdir()
    red = np.zeros((4, 4, 4), np.uint8)
    red[..., 0], red[..., 3] = 200, 255
    red[0, 0, 3], red[0, 1, 3] = 0, 51  # transparent, and 20% opaque
    iio.imwrite(tmp_path / "d" / "a.png", red)
    iio.imwrite(tmp_path / "d" / "b.png", np.full((4, 4), 90, np.uint8))
    iio.imwrite(tmp_path / "d" / "c.png", np.stack([np.full((4, 4), 30, np.uint8), np.full((4, 4), 102, np.uint8)], -1))
    rgb = image_folder(str(tmp_path / "d"), channels=3).images  # composited onto white
    assert rgb[0, 0, 0].tolist() == [255, 255, 255] and rgb[0, 1, 1].tolist() == [200, 0, 0]
    assert rgb[0, 0, 1].tolist() == [round(0.2 * 200 + 0.8 * 255), 204, 204] and rgb[1, 0, 0].tolist() == [90] * 3
    assert rgb[2, 0, 0].tolist() == [round(0.4 * 30 + 0.6 * 255)] * 3  # gray and alpha
    on_blue = image_folder(str(tmp_path / "d"), channels=3, background=(0, 0, 100)).images
    assert on_blue[0, 0, 0].tolist() == [0, 0, 100] and on_blue[0, 0, 1].tolist() == [40, 0, 80]
    gray = image_folder(str(tmp_path / "d"), channels=1, background=(0, 0, 100)).images
    assert gray[0, 1, 1, 0] == round(0.2989 * 200) and gray[1, 0, 0, 0] == 90 and gray[0, 0, 0, 0] == round(11.4)
    rgba = image_folder(str(tmp_path / "d"), channels=4, alpha="keep").images
    assert rgba.shape == (3, 4, 4, 4) and np.array_equal(rgba[0], red)  # exactly as stored
    assert rgba[1, 0, 0].tolist() == [90, 90, 90, 255] and rgba[2, 0, 0].tolist() == [30, 30, 30, 102]
    gray_alpha = image_folder(str(tmp_path / "d"), channels=2, alpha="keep").images
    assert gray_alpha[0, 0, 1].tolist() == [round(0.2989 * 200), 51] and gray_alpha[1, 0, 0].tolist() == [90, 255]


def test_folder_alpha_and_channels_must_agree(tmp_path):
    write_images(tmp_path / "d", n=1, classes=("a",))
    for channels, alpha, message in [
        (3, "keep", "data.alpha: keep needs room for the alpha channel, found channels: 3; set data.channels: 4"),
        (4, "composite", "data.channels: 4 holds an alpha channel; set data.alpha: keep .*or data.channels: 3"),
    ]:
        assert rule_problem(image_folder, {"channels": channels, "alpha": alpha}) is not None  # ganlab check sees it
        with pytest.raises(GanlabError, match=message) as err:
            image_folder(str(tmp_path / "d"), channels=channels, alpha=alpha)
        assert len(err.value.lines) == 1
    with pytest.raises(GanlabError, match=r"data.background: expected \[r, g, b\], three integers 0..255"):
        image_folder(str(tmp_path / "d"), background=(0, 300, 0))


def test_folder_16_bit_pngs_are_scaled_not_clipped(tmp_path):
    (tmp_path / "d").mkdir()
    values = np.array([[0, 128, 129, 257, 32767, 32768, 65407, 65535]], np.uint16)
    iio.imwrite(tmp_path / "d" / "deep.png", values)
    assert iio.imread(tmp_path / "d" / "deep.png").dtype == np.uint16
    image = image_folder(str(tmp_path / "d"), channels=1).images[0, ..., 0]
    assert image.tolist() == [np.round(values[0].astype(np.int64) * 255 / 65535).astype(int).tolist()]
    assert image.tolist() == [[0, 0, 1, 1, 127, 128, 255, 255]]  # rounded, where clipping gives 255 from 255 up


def test_folder_non_square_sizes_end_to_end(tmp_path):
    write_images(tmp_path / "d", n=2, shape=(20, 10, 3), classes=("a",))
    data = image_folder(str(tmp_path / "d"), size=(6, 12), fit="stretch")
    assert data.images.shape == (2, 6, 12, 3) and data.image_shape == (6, 12, 3)
    streamed = image_folder(str(tmp_path / "d"), size=(6, 12), fit="stretch", in_memory=False)
    assert np.array_equal(streamed.images[[0, 1]], data.images)
    assert image_folder(str(tmp_path / "d")).images.shape == (2, 20, 10, 3)  # their own non-square size


def test_folder_cache_is_read_the_second_time_and_follows_the_files(tmp_path, monkeypatch, cache_in_tmp):
    write_images(tmp_path / "d", n=3)
    first = image_folder(str(tmp_path / "d"), size=(8, 8), labels=True)
    assert len(list(cache_in_tmp.glob("*.npz"))) == 1 and not list(cache_in_tmp.glob(".*"))

    def fails(self, path):
        raise AssertionError("decoded although cached")

    with monkeypatch.context() as patch:
        patch.setattr(Decoding, "decode", fails)
        second = image_folder(str(tmp_path / "d"), size=(8, 8), labels=True)
        assert np.array_equal(second.images, first.images) and np.array_equal(second.labels, first.labels)
        with pytest.raises(AssertionError, match="decoded although cached"):  # other parameters, another entry
            image_folder(str(tmp_path / "d"), size=(8, 8), channels=1)
        with pytest.raises(AssertionError, match="decoded although cached"):
            image_folder(str(tmp_path / "d"), size=(8, 8), cache=False)
        changed = tmp_path / "d" / "dogs" / "00.png"
        iio.imwrite(changed, np.zeros((12, 16, 3), np.uint8))
        with pytest.raises(AssertionError, match="decoded although cached"):  # a changed file: decoded again
            image_folder(str(tmp_path / "d"), size=(8, 8), labels=True)
    third = image_folder(str(tmp_path / "d"), size=(8, 8), labels=True)
    assert (third.images[3] == 0).all() and np.array_equal(third.images[:3], first.images[:3])
    assert len(list(cache_in_tmp.glob("*.npz"))) == 2
    for entry in cache_in_tmp.glob("*.npz"):  # a damaged entry is decoded again and replaced
        entry.write_bytes(b"damaged")
    assert np.array_equal(image_folder(str(tmp_path / "d"), size=(8, 8), labels=True).images, third.images)


def test_folder_cache_keeps_skipped_files_out_and_still_warns(tmp_path, capsys, cache_in_tmp):
    write_images(tmp_path / "d", n=2, classes=("a",))
    (tmp_path / "d" / "a" / "garbage.png").write_bytes(b"not an image")
    for _ in range(2):
        assert len(image_folder(str(tmp_path / "d"), size=(8, 8), on_error="skip")) == 2
        assert "skipped 1 of 3 images that cannot be decoded: " in capsys.readouterr().err
    with pytest.raises(GanlabError, match="garbage.png .*cannot decode it as an image"):
        image_folder(str(tmp_path / "d"), size=(8, 8), on_error="stop")
    assert len(list(cache_in_tmp.glob("*.npz"))) == 1


def subset_names(data):
    """The files a streamed dataset reads, relative to the folder ``d``."""
    return [str(path).split("/d/")[1] for path in data.images.paths]


def test_folder_subset_is_seeded_class_balanced_and_nested(tmp_path):
    write_images(tmp_path / "d", n=7, shape=(4, 4, 3), classes=("a", "b", "c"))
    every = ["/".join(parts) for parts in folder_plugin._image_files(tmp_path / "d")]
    data = image_folder(str(tmp_path / "d"), labels=True, subset=8, in_memory=False)
    assert len(data) == 8 and np.bincount(data.labels).tolist() == [3, 3, 2]  # the remainder to the first classes
    assert "a subset of 8 of 21 files" in data.description
    names = subset_names(data)
    first = [name for c, k in zip("abc", (3, 3, 2)) for name in [n for n in every if n.startswith(c)][:k]]
    assert names == sorted(names) and names != first  # drawn at random, kept in path order
    assert subset_names(image_folder(str(tmp_path / "d"), labels=True, subset=8, in_memory=False)) == names
    smaller = subset_names(image_folder(str(tmp_path / "d"), labels=True, subset=4, in_memory=False))
    assert set(smaller) < set(names) and smaller != names[:4]  # nested, as documented, not a prefix
    plain = image_folder(str(tmp_path / "d"), subset=5, in_memory=False)
    assert len(plain) == 5 and plain.labels is None and subset_names(plain) != every[:5]
    listed = [(c, f"{i:03d}.png") for c in "xyz" for i in range(100)]  # no files: the draw reads none
    draws = [set(folder_plugin._subset(tmp_path, listed, n, labelled=True)) for n in (10, 40, 160)]
    assert draws[0] < draws[1] < draws[2] and [sum(p[0] == "x" for p in d) for d in draws] == [4, 14, 54]


def test_folder_subset_decodes_and_hashes_only_its_files(tmp_path, monkeypatch, cache_in_tmp):
    write_images(tmp_path / "d", n=4, shape=(4, 4, 3), classes=("a", "b"))
    chosen = folder_plugin._subset(tmp_path / "d", folder_plugin._image_files(tmp_path / "d"), 4, True)
    for path in (tmp_path / "d").glob("*/*"):  # every other file is unreadable: on_error stop would say so
        if tuple(path.relative_to(tmp_path / "d").parts) not in chosen:
            path.write_bytes(b"not an image")
    hashed = []
    key = folder_plugin.folder_cache.path
    monkeypatch.setattr(
        folder_plugin.folder_cache, "path", lambda files, *rest: hashed.append(len(files)) or key(files, *rest)
    )
    data = image_folder(str(tmp_path / "d"), labels=True, subset=4)
    assert len(data) == 4 and np.bincount(data.labels).tolist() == [2, 2] and hashed == [4]
    again = image_folder(str(tmp_path / "d"), labels=True, subset=4)
    assert np.array_equal(again.images, data.images) and len(list(cache_in_tmp.glob("*.npz"))) == 1
    image_folder(str(tmp_path / "d"), labels=True, subset=2)  # another subset, another entry
    assert len(list(cache_in_tmp.glob("*.npz"))) == 2


def test_folder_subset_larger_than_the_folder_or_a_class_is_one_line(tmp_path):
    write_images(tmp_path / "d", n=2, shape=(4, 4, 3), classes=("a", "b"))
    write_images(tmp_path / "d", n=5, shape=(4, 4, 3), classes=("c",))
    with pytest.raises(
        GanlabError, match=r"^data.subset: 10 images asked for, .*d holds 9; set a smaller subset"
    ) as err:
        image_folder(str(tmp_path / "d"), subset=10)
    assert len(err.value.lines) == 1
    with pytest.raises(GanlabError, match=r"^data.subset: 9 images take 3 from class 'a', which holds 2; "):
        image_folder(str(tmp_path / "d"), labels=True, subset=9)
    assert len(image_folder(str(tmp_path / "d"), subset=9)) == 9


def test_folder_cache_that_cannot_be_written_is_a_warning(tmp_path, monkeypatch, capsys):
    write_images(tmp_path / "d", n=1, classes=("a",))
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "file" / "cache"))
    assert len(image_folder(str(tmp_path / "d"), size=(8, 8))) == 1
    warning = capsys.readouterr().err.strip()
    assert warning.startswith("ganlab: warning: data: cannot write the decoded-image cache ") and "\n" not in warning
    assert warning.endswith("set GANLAB_CACHE to a folder you can write")


def test_folder_crop_keeps_the_centre_and_stretch_keeps_everything(tmp_path):
    (tmp_path / "d").mkdir()
    wide = np.zeros((10, 30), np.uint8)
    wide[:, 10:20] = 255  # a white middle third between black ones
    iio.imwrite(tmp_path / "d" / "wide.png", wide)
    cropped = image_folder(str(tmp_path / "d"), size=(5, 5), channels=1, fit="crop").images
    stretched = image_folder(str(tmp_path / "d"), size=(5, 5), channels=1, fit="stretch").images
    assert (cropped == 255).all()
    assert stretched[0, 2, 0, 0] == stretched[0, 2, 4, 0] == 0 and stretched[0, 2, 2, 0] > 200  # black, white, black


def test_folder_streams_large_datasets_from_their_files(tmp_path, monkeypatch):
    write_images(tmp_path / "d")
    held = image_folder(str(tmp_path / "d"), size=(8, 8), labels=True, in_memory=True)
    files = image_folder(str(tmp_path / "d"), size=(8, 8), labels=True, in_memory=False)
    assert isinstance(files.images, ImageFiles) and isinstance(held.images, np.ndarray)
    assert files.images.shape == held.images.shape and len(files) == 12 and np.array_equal(files.labels, held.labels)
    assert np.array_equal(files.images[[3, 0]], held.images[[3, 0]]) and np.array_equal(files.images[5], held.images[5])
    monkeypatch.setattr(folder_plugin, "IN_MEMORY_BYTES", 12 * 8 * 8 * 3 - 1)  # auto: one byte too many to hold
    assert isinstance(image_folder(str(tmp_path / "d"), size=(8, 8)).images, ImageFiles)

    def batches(images, start_step, n):
        stream = iter(real_stream(images, 4, seed=3, output_range=(-1.0, 1.0), start_step=start_step, d_steps=2))
        return [next(stream).numpy() for _ in range(n)]

    streamed, in_memory = batches(files.images, 0, 5), batches(held.images, 0, 5)
    assert all(np.array_equal(a, b) for a, b in zip(streamed, in_memory))  # the same batches, epoch after epoch
    assert all(np.array_equal(a, b) for a, b in zip(batches(files.images, 2, 3), streamed[2:]))  # resume at step 2


@pytest.mark.parametrize("in_memory", [True, False])
def test_folder_unreadable_images_stop_or_are_skipped(tmp_path, capsys, in_memory):
    write_images(tmp_path / "d", n=3, classes=("a",))
    (tmp_path / "d" / "a" / "garbage.png").write_bytes(b"not an image")
    jpeg = (tmp_path / "d" / "a" / "01.jpg").read_bytes()
    (tmp_path / "d" / "a" / "half.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    with pytest.raises(GanlabError) as err:
        image_folder(str(tmp_path / "d"), size=(8, 8), in_memory=in_memory)
    assert len(err.value.lines) == 1 and str(err.value).startswith(f"{tmp_path / 'd' / 'a' / 'garbage.png'} (")
    assert str(err.value).endswith(
        "cannot decode it as an image; replace or remove it, or set data.on_error: skip to leave such files out"
    )
    data = image_folder(str(tmp_path / "d"), size=(8, 8), on_error="skip", in_memory=in_memory)
    assert len(data) == 3
    warning = capsys.readouterr().err.strip()
    assert warning.startswith("ganlab: warning: data: skipped 2 of 5 images that cannot be decoded: ")
    assert "\n" not in warning
    assert "garbage.png" in warning and "half.jpg" in warning


def test_folder_of_mixed_sizes_needs_a_size(tmp_path):
    write_images(tmp_path / "d", n=2, shape=(12, 16, 3), classes=("a",))
    iio.imwrite(tmp_path / "d" / "a" / "big.png", np.zeros((20, 20, 3), np.uint8))
    message = r"big.png: the image is 20x20, the first, a/00.png, is 12x16; set data.size: \[height, width\]"
    with pytest.raises(GanlabError, match=message):
        image_folder(str(tmp_path / "d"))
    assert image_folder(str(tmp_path / "d"), size=(10, 10)).images.shape == (3, 10, 10, 3)


def test_folder_problems_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    write_images(tmp_path / "d", n=1, classes=("a",))
    iio.imwrite(tmp_path / "d" / "loose.png", np.zeros((12, 16, 3), np.uint8))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"")
    cases = [
        (dict(path=str(tmp_path / "nope")), "nope: not a folder"),
        (
            dict(path=str(tmp_path / "empty")),
            r"no PNG or JPEG images \(.png, .jpg, .jpeg\) in it or below it \(it holds 1 other files\)",
        ),
        (
            dict(path=str(tmp_path / "d"), labels=True),
            "loose.png: data.labels is true, so every image must be in a subfolder",
        ),
        (
            dict(path=str(tmp_path / "d"), size=(0, 4)),
            r"data.size: expected \[height, width\], two positive integers, found \[0, 4\]",
        ),
        (dict(path=str(tmp_path / "bad"), on_error="skip"), "none of its 1 images can be decoded, e.g. .*x.png"),
    ]
    for kwargs, message in cases:
        with pytest.raises(GanlabError, match=message) as err:
            image_folder(**kwargs)
        assert len(err.value.lines) == 1


def test_folder_recipe_trains_streamed_through_the_cli_skipping_a_bad_file(tmp_path):
    """Non-square images (16x24) from the files to DCGAN's generator and its sample grids."""
    write_images(tmp_path / "images", n=8, shape=(10, 10, 3))
    (tmp_path / "images" / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = run_cli(
        "run", "recipes/dcgan_image_folder.yaml", "--out", tmp_path / "run",
        "--set", f"data.path={tmp_path / 'images'}", "--set", "data.size=[16,24]", "--set", "data.in_memory=false",
        "--set", "generator.base_filters=8", "--set", "discriminator.base_filters=8",
        "--set", "training.batch_size=4", "--set", "training.steps=4", "--set", "training.steps_per_execution=2",
        "--set", "output.grid=2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ganlab: warning: data: skipped 1 of 17 images that cannot be decoded: " in result.stderr
    assert "broken.png" in result.stderr
    for name in ("recipe.yaml", "metrics.csv", "real.png", "generator.keras"):
        assert (tmp_path / "run" / name).is_file(), name
    assert iio.imread(tmp_path / "run" / "real.png").ndim == 3  # an RGB grid of real images, decoded from the files
    grid = iio.imread(tmp_path / "run" / "samples" / "epoch_0001.png")
    assert grid.shape[:2] == (2 * 16 + 1, 2 * 24 + 1)  # 2x2, 1 px apart


def test_folder_with_a_corrupt_file_stops_the_cli_with_one_line(tmp_path):
    write_images(tmp_path / "images", n=2, classes=("a",))
    (tmp_path / "images" / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result = run_cli(
        "run", "recipes/dcgan_image_folder.yaml", "--set", f"data.path={tmp_path / 'images'}",
        "--set", "data.on_error=stop", "--out", tmp_path / "run",
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ganlab")]
    assert len(lines) == 1 and lines[0].startswith(f"ganlab: error: {tmp_path / 'images' / 'a' / 'broken.jpg'} (")
    assert not (tmp_path / "run").exists()
