"""The mnist dataset: the real test split, small IDX files written here, every failure path.

No test touches the network or the real home: HOME, KERAS_HOME and GANLAB_DATA point into
tmp_path, and downloads go to a ``file://`` mirror or an http.server on 127.0.0.1.
"""

import functools
import gzip
import hashlib
import http.server
import subprocess
import sys
import threading

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab_plugins import mnist as mnist_plugin
from ganlab_plugins.mnist import mnist
from tests.helpers import UNREACHABLE, idx, write_split

pytestmark = pytest.mark.usefixtures("isolated_home")


def test_the_real_test_split(mnist_dir):
    data = mnist(split="test", path=str(mnist_dir))
    assert data.images.shape == (10000, 28, 28, 1) and data.images.dtype == np.uint8
    assert data.labels.shape == (10000,) and sorted(np.unique(data.labels)) == list(range(10))
    assert 30 < data.images.mean() < 37  # MNIST's mean pixel is about 33
    assert data.description == f"mnist test (10000 images from {mnist_dir})"
    for name in mnist_plugin.FILES["test"]:  # the checksums a download is held to are the real ones
        assert hashlib.md5((mnist_dir / name).read_bytes()).hexdigest() == mnist_plugin.MD5[name]


@pytest.mark.parametrize("gz", [True, False])
def test_small_idx_files(tmp_path, gz):
    images, labels = write_split(tmp_path / "d", gz=gz)
    data = mnist(split="test", path=str(tmp_path / "d"))
    assert np.array_equal(data.images[..., 0], images) and np.array_equal(data.labels, labels)
    assert data.images.dtype == np.uint8 and data.image_shape == (28, 28, 1)


def save_npz(path, n_train=3, n_test=2, drop=(), **overrides):
    """A small Keras-style mnist.npz; ``overrides`` replace arrays, ``drop`` leaves keys out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.arange(n_train * 784, dtype=np.uint8).reshape(n_train, 28, 28)
    arrays = dict(
        x_train=x,
        y_train=np.arange(n_train, dtype=np.uint8),
        x_test=x[:n_test],
        y_test=np.arange(n_test, dtype=np.uint8),
    )
    np.savez(path, **{k: v for k, v in {**arrays, **overrides}.items() if k not in drop})


def test_keras_npz_in_the_keras_cache(tmp_path):
    save_npz(tmp_path / "keras" / "datasets" / "mnist.npz")
    train = mnist(split="train")
    assert train.images.shape == (3, 28, 28, 1) and list(train.labels) == [0, 1, 2]
    assert len(mnist(split="test")) == 2


def test_keras_npz_given_as_path(tmp_path):
    save_npz(tmp_path / "d" / "mnist.npz")
    assert mnist(split="test", path=str(tmp_path / "d")).images.shape == (2, 28, 28, 1)


def test_ganlab_data_comes_before_the_keras_cache(tmp_path, monkeypatch):
    save_npz(tmp_path / "keras" / "datasets" / "mnist.npz")
    write_split(tmp_path / "data" / "mnist", split="train", n=7)
    monkeypatch.setenv("GANLAB_DATA", str(tmp_path / "data"))
    data = mnist()
    assert len(data) == 7 and str(tmp_path / "data" / "mnist") in data.description


def test_earlier_downloads_are_found_without_downloading(tmp_path):
    write_split(tmp_path / "home" / ".ganlab" / "data" / "mnist", n=6)
    assert len(mnist(split="test", download=False)) == 6


@pytest.mark.parametrize(
    "name, damage, message",
    [
        ("t10k-images-idx3-ubyte.gz", lambda b: b[: len(b) // 2], "cannot read"),  # truncated gzip
        ("t10k-images-idx3-ubyte.gz", lambda b: b"not gzip at all", "cannot read"),
        ("t10k-images-idx3-ubyte.gz", lambda b: gzip.compress(gzip.decompress(b)[:-10]), "truncated or damaged"),
        (
            "t10k-images-idx3-ubyte.gz",
            lambda b: gzip.compress(b"\x00\x00\x08\x01" + gzip.decompress(b)[4:]),
            "magic number",
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            lambda b: gzip.compress(b"\x00\x00\x08\x03" + gzip.decompress(b)[4:]),
            "magic number",
        ),
        ("t10k-labels-idx1-ubyte.gz", lambda b: gzip.compress(gzip.decompress(b) + b"\x00"), "truncated or damaged"),
    ],
)
def test_damaged_files_are_errors_naming_the_file(tmp_path, name, damage, message):
    write_split(tmp_path / "d")
    target = tmp_path / "d" / name
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(GanlabError, match=message) as err:
        mnist(split="test", path=str(tmp_path / "d"))
    assert str(target) in str(err.value) and len(err.value.lines) == 1


def test_images_of_the_wrong_size(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "t10k-images-idx3-ubyte").write_bytes(idx(np.zeros((2, 32, 32)), 0x803))
    (tmp_path / "d" / "t10k-labels-idx1-ubyte").write_bytes(idx(np.zeros(2), 0x801))
    with pytest.raises(GanlabError, match="t10k-images-idx3-ubyte: images are 32x32, MNIST's are 28x28"):
        mnist(split="test", path=str(tmp_path / "d"))


def test_label_count_mismatch(tmp_path):
    write_split(tmp_path / "d", n=5, labels=np.arange(4))
    with pytest.raises(GanlabError, match="t10k-labels-idx1-ubyte.gz: 4 labels for 5 images"):
        mnist(split="test", path=str(tmp_path / "d"))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(drop=("x_test",)), "no array x_test in it"),
        (dict(y_test=np.arange(5)), "expected uint8 \\(n, 28, 28\\) and \\(n,\\)"),
        (dict(x_test=np.zeros((2, 28, 28), np.float32)), "x_test is float32"),
    ],
)
def test_bad_npz(tmp_path, overrides, message):
    path = tmp_path / "d" / "mnist.npz"
    save_npz(path, **overrides)
    with pytest.raises(GanlabError, match=f"{path}: .*{message}"):
        mnist(split="test", path=str(tmp_path / "d"))


def test_damaged_npz(tmp_path):
    path = tmp_path / "d" / "mnist.npz"
    save_npz(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(GanlabError, match=f"{path}: cannot read .*replace it"):
        mnist(split="test", path=str(tmp_path / "d"))


def test_bad_path_and_split(tmp_path):
    (tmp_path / "empty").mkdir()
    message = "no MNIST train files there; put train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz"
    with pytest.raises(GanlabError, match=message):
        mnist(path=str(tmp_path / "empty"))
    with pytest.raises(GanlabError, match="data.path .*nope: not a folder"):
        mnist(path=str(tmp_path / "nope"))
    with pytest.raises(GanlabError, match="data.split: expected 'train' or 'test', found 'val'"):
        mnist(split="val")


def test_a_given_path_is_the_only_place_looked(tmp_path, monkeypatch):
    write_split(tmp_path / "data" / "mnist")
    monkeypatch.setenv("GANLAB_DATA", str(tmp_path / "data"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanlabError, match="no MNIST test files there"):
        mnist(split="test", path=str(tmp_path / "empty"))


def test_offline_download_says_which_files_to_put_where(tmp_path):
    with pytest.raises(GanlabError) as err:
        mnist(split="test")
    folder = tmp_path / "home" / ".ganlab" / "data" / "mnist"
    line = str(err.value)
    assert len(err.value.lines) == 1
    assert line.startswith(f"cannot download MNIST ({UNREACHABLE}t10k-images-idx3-ubyte.gz: URLError: ")
    assert line.endswith(
        f"): put t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in {folder}, or set data.path in the recipe"
    )
    assert list(folder.iterdir()) == []  # no partial download left behind


def test_no_files_and_no_download(tmp_path):
    with pytest.raises(GanlabError, match="MNIST train files not found and data.download is false: put train-images"):
        mnist(download=False)
    assert not (tmp_path / "home" / ".ganlab").exists()


def make_mirror(tmp_path, monkeypatch, tamper=None):
    """Small test files to serve, with ``MD5`` patched to their sums; ``tamper`` is then overwritten."""
    served = tmp_path / "mirror"
    write_split(served, n=4)
    for name in mnist_plugin.FILES["test"]:
        monkeypatch.setitem(mnist_plugin.MD5, name, hashlib.md5((served / name).read_bytes()).hexdigest())
    if tamper:
        (served / tamper).write_bytes(b"tampered")
    monkeypatch.setenv("GANLAB_DATA", str(tmp_path / "data"))
    return served


@pytest.fixture
def http_mirror(tmp_path, monkeypatch):
    """An http.server on 127.0.0.1 serving ``make_mirror``'s folder; yields its base URL."""
    served = make_mirror(tmp_path, monkeypatch)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums_and_keeps_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", make_mirror(tmp_path, monkeypatch).as_uri() + "/")
    data = mnist(split="test")
    assert len(data) == 4 and data.images.shape == (4, 28, 28, 1)
    assert sorted(p.name for p in (tmp_path / "data" / "mnist").iterdir()) == sorted(mnist_plugin.FILES["test"])
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", UNREACHABLE)
    assert len(mnist(split="test")) == 4  # the second time, nothing is fetched


def test_download_over_http_falls_back_to_the_next_mirror(http_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", f"{UNREACHABLE} {http_mirror}")
    assert len(mnist(split="test")) == 4


def test_download_reports_http_errors(http_mirror, monkeypatch):
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", http_mirror + "missing/")
    with pytest.raises(GanlabError, match="missing/t10k-images-idx3-ubyte.gz: HTTP Error 404"):
        mnist(split="test")


def test_download_with_a_bad_checksum_keeps_nothing(tmp_path, monkeypatch):
    served = make_mirror(tmp_path, monkeypatch, tamper="t10k-labels-idx1-ubyte.gz")
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", served.as_uri() + "/")
    expected = mnist_plugin.MD5["t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(GanlabError, match=f"t10k-labels-idx1-ubyte.gz: MD5 [0-9a-f]{{32}}, expected {expected}"):
        mnist(split="test")
    # the good images file is kept; the bad labels file and every temporary file are gone
    assert [p.name for p in (tmp_path / "data" / "mnist").iterdir()] == ["t10k-images-idx3-ubyte.gz"]


def test_importing_the_plugin_is_cheap():
    code = (
        "import sys, ganlab_plugins.mnist; "
        "print(sorted({'numpy', 'tensorflow', 'keras', 'urllib.request'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
