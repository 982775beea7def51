"""The fashion_mnist, image_folder and arrays datasets: tiny files written here, training
on them through the CLI and the run API, and every failure path.

No test touches the network or the real home: HOME, KERAS_HOME and GANLAB_DATA point into
tmp_path, and the Fashion-MNIST mirror is a port where nothing listens.
"""

import hashlib

import imageio.v3 as iio
import numpy as np
import pytest

from ganlab import GanlabError, ImageFiles
from ganlab_plugins import fashion_mnist as fashion_plugin
from ganlab_plugins import folder as folder_plugin
from ganlab_plugins.arrays import arrays
from ganlab_plugins.fashion_mnist import fashion_mnist
from ganlab_plugins.folder import image_folder
from tests.conftest import run_cli
from tests.helpers import UNREACHABLE, write_images, write_npz, write_split

pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.fixture(autouse=True)
def unreachable_fashion_mirror(monkeypatch):
    monkeypatch.setenv("GANLAB_FASHION_MNIST_MIRROR", UNREACHABLE)



# --- Fashion-MNIST ---


def test_fashion_mnist_reads_small_idx_files(tmp_path):
    images, labels = write_split(tmp_path / "d", n=7)
    data = fashion_mnist(split="test", path=str(tmp_path / "d"))
    assert np.array_equal(data.images[..., 0], images) and np.array_equal(data.labels, labels)
    assert data.image_shape == (28, 28, 1) and data.description == f"fashion_mnist test (7 images from {tmp_path / 'd'})"


def test_fashion_mnist_looks_in_the_keras_cache_and_ganlab_data(tmp_path, monkeypatch):
    write_split(tmp_path / "keras" / "datasets" / "fashion-mnist", split="train", n=3)
    assert len(fashion_mnist()) == 3
    write_split(tmp_path / "data" / "fashion_mnist", split="train", n=5)
    monkeypatch.setenv("GANLAB_DATA", str(tmp_path / "data"))
    assert len(fashion_mnist()) == 5


def test_fashion_mnist_checks_downloads_against_its_own_checksums(tmp_path, monkeypatch):
    served = tmp_path / "mirror"
    write_split(served, n=4)
    monkeypatch.setenv("GANLAB_FASHION_MNIST_MIRROR", served.as_uri() + "/")
    expected = fashion_plugin.MD5["t10k-images-idx3-ubyte.gz"]
    with pytest.raises(GanlabError, match=f"cannot download Fashion-MNIST .*MD5 [0-9a-f]{{32}}, expected {expected}"):
        fashion_mnist(split="test")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        monkeypatch.setitem(fashion_plugin.MD5, name, hashlib.md5((served / name).read_bytes()).hexdigest())
    assert len(fashion_mnist(split="test")) == 4
    assert sorted(p.name for p in (tmp_path / "home" / ".ganlab" / "data" / "fashion_mnist").iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_fashion_mnist_offline_is_one_line_naming_where_to_put_the_files(tmp_path):
    folder = tmp_path / "home" / ".ganlab" / "data" / "fashion_mnist"
    result = run_cli("run", "recipes/dcgan_fashion_mnist.yaml", "--set", "data.split=test", "--out", tmp_path / "run", env={"HOME": str(tmp_path / "home")})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganlab: error: cannot download Fashion-MNIST ({UNREACHABLE}t10k-images-idx3-ubyte.gz: URLError: ")
    assert lines[0].endswith(f"put t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in {folder}, or set data.path in the recipe")
    assert not (tmp_path / "run").exists()


# --- a folder of images ---


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
    red[..., 0], red[..., 3] = 200, 0  # RGBA, fully transparent: alpha is dropped, not composited
    iio.imwrite(tmp_path / "d" / "a.png", red)
    iio.imwrite(tmp_path / "d" / "b.png", np.full((4, 4), 90, np.uint8))
    rgb = image_folder(str(tmp_path / "d"), channels=3).images
    assert rgb[0, 0, 0].tolist() == [200, 0, 0] and rgb[1, 0, 0].tolist() == [90, 90, 90]
    gray = image_folder(str(tmp_path / "d"), channels=1).images
    assert gray[0, 0, 0, 0] == round(0.2989 * 200) and gray[1, 0, 0, 0] == 90


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
    from ganlab.training.stream import real_stream

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
    assert str(err.value).endswith("cannot decode it as an image; replace or remove it, or set data.on_error: skip to leave such files out")
    data = image_folder(str(tmp_path / "d"), size=(8, 8), on_error="skip", in_memory=in_memory)
    assert len(data) == 3
    warning = capsys.readouterr().err.strip()
    assert warning.startswith("ganlab: warning: data: skipped 2 of 5 images that cannot be decoded: ") and "\n" not in warning
    assert "garbage.png" in warning and "half.jpg" in warning


def test_folder_of_mixed_sizes_needs_a_size(tmp_path):
    write_images(tmp_path / "d", n=2, shape=(12, 16, 3), classes=("a",))
    iio.imwrite(tmp_path / "d" / "a" / "big.png", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(GanlabError, match=r"big.png: the image is 20x20, the first, a/00.png, is 12x16; set data.size: \[height, width\]"):
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
        (dict(path=str(tmp_path / "empty")), r"no PNG or JPEG images \(.png, .jpg, .jpeg\) in it or below it \(it holds 1 other files\)"),
        (dict(path=str(tmp_path / "d"), labels=True), "loose.png: data.labels is true, so every image must be in a subfolder"),
        (dict(path=str(tmp_path / "d"), size=(0, 4)), r"data.size: expected \[height, width\], two positive integers, found \[0, 4\]"),
        (dict(path=str(tmp_path / "bad"), on_error="skip"), "none of its 1 images can be decoded, e.g. .*x.png"),
    ]
    for kwargs, message in cases:
        with pytest.raises(GanlabError, match=message) as err:
            image_folder(**kwargs)
        assert len(err.value.lines) == 1


def test_folder_recipe_trains_streamed_through_the_cli_skipping_a_bad_file(tmp_path):
    write_images(tmp_path / "images", n=8, shape=(10, 10, 3))
    (tmp_path / "images" / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = run_cli(
        "run", "recipes/dcgan_image_folder.yaml", "--out", tmp_path / "run",
        "--set", f"data.path={tmp_path / 'images'}", "--set", "data.size=[16,16]", "--set", "data.in_memory=false",
        "--set", "generator.base_filters=8", "--set", "discriminator.base_filters=8",
        "--set", "training.batch_size=4", "--set", "training.steps=4", "--set", "training.steps_per_execution=2", "--set", "output.grid=2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ganlab: warning: data: skipped 1 of 17 images that cannot be decoded: " in result.stderr and "broken.png" in result.stderr
    for name in ("recipe.yaml", "metrics.csv", "real.png", "generator.keras"):
        assert (tmp_path / "run" / name).is_file(), name
    assert iio.imread(tmp_path / "run" / "real.png").ndim == 3  # an RGB grid of real images, decoded from the files


def test_folder_with_a_corrupt_file_stops_the_cli_with_one_line(tmp_path):
    write_images(tmp_path / "images", n=2, classes=("a",))
    (tmp_path / "images" / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result = run_cli("run", "recipes/dcgan_image_folder.yaml", "--set", f"data.path={tmp_path / 'images'}", "--set", "data.on_error=stop", "--out", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ganlab")]
    assert len(lines) == 1 and lines[0].startswith(f"ganlab: error: {tmp_path / 'images' / 'a' / 'broken.jpg'} (")
    assert not (tmp_path / "run").exists()


# --- .npy and .npz arrays ---


def test_npz_images_and_labels(tmp_path):
    path = write_npz(tmp_path / "a.npz")
    data = arrays(str(path))
    x = np.load(path)["x"]
    assert data.images.shape == (40, 8, 8, 1) and data.images.dtype == np.uint8
    assert np.array_equal(data.images[..., 0], np.round((x + 1) * 127.5).astype(np.uint8)) and list(data.labels[:5]) == [0, 1, 2, 3, 0]
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
    np.savez(tmp_path / "a.npz", pics=np.zeros((3, 4, 4, 3), np.uint8), classes=np.array([[2], [0], [1]]), x=np.zeros(1))
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
        (dict(x=np.zeros((2, 4, 4)), y=np.zeros((2, 3))), {}, r"\[y\]: labels are float64 \(2, 3\); expected integers of shape \(2,\).*not one-hot"),
        (dict(x=np.zeros((2, 4, 4)), y=np.array([0, -1])), {}, "labels hold -1; class indices start at 0"),
        (dict(pics=np.zeros((2, 4, 4))), {}, r"no array 'x' or 'images' for the images \(it holds 'pics'\); set data.images_key"),
        (dict(x=np.zeros((2, 4, 4))), dict(labels_key="lab"), r"no array 'lab' for the labels \(it holds 'x'\); set data.labels_key"),
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
    from ganlab.components.loading import load_registry
    from ganlab.recipe.validate import validate
    from ganlab.training.run import train

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
