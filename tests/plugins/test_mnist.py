"""The mnist dataset: the real test split, small IDX files written here, every failure path."""

import gzip
import hashlib
import struct

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab_plugins import mnist as mnist_plugin
from ganlab_plugins.mnist import mnist


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test sees the real home, cache or network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANLAB_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", "http://127.0.0.1:9/")  # nothing listens there


def idx(array, magic):
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_split(folder, split="test", n=5, gz=True, images=None, labels=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28)) if images is None else images
    labels = np.arange(n) % 10 if labels is None else labels
    names = mnist_plugin.FILES[split]
    for name, payload in zip(names, (idx(images, 0x803), idx(labels, 0x801))):
        if gz:
            (folder / name).write_bytes(gzip.compress(payload))
        else:
            (folder / name.removesuffix(".gz")).write_bytes(payload)
    return images, labels


def test_the_real_test_split(mnist_dir):
    data = mnist(split="test", path=str(mnist_dir))
    assert data.images.shape == (10000, 28, 28, 1) and data.images.dtype == np.uint8
    assert sorted(np.unique(data.labels)) == list(range(10))
    assert 30 < data.images.mean() < 37  # MNIST's mean pixel is about 33


@pytest.mark.parametrize("gz", [True, False])
def test_small_idx_files(tmp_path, gz):
    images, labels = write_split(tmp_path / "d", gz=gz)
    data = mnist(split="test", path=str(tmp_path / "d"))
    assert np.array_equal(data.images[..., 0], images) and np.array_equal(data.labels, labels)


def test_keras_npz_in_the_keras_cache(tmp_path):
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    x = np.zeros((3, 28, 28), np.uint8)
    np.savez(cache / "mnist.npz", x_train=x, y_train=np.arange(3), x_test=x[:2], y_test=np.arange(2))
    assert mnist(split="train").images.shape == (3, 28, 28, 1)
    assert len(mnist(split="test")) == 2


def test_ganlab_data_comes_before_the_keras_cache(tmp_path, monkeypatch):
    write_split(tmp_path / "data" / "mnist", split="train", n=7)
    monkeypatch.setenv("GANLAB_DATA", str(tmp_path / "data"))
    assert len(mnist()) == 7


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[: len(b) // 2], "cannot read"),  # truncated gzip
        (lambda b: gzip.compress(gzip.decompress(b)[:-10]), "truncated or damaged"),
        (lambda b: gzip.compress(b"\x00\x00\x08\x01" + gzip.decompress(b)[4:]), "magic number"),
    ],
)
def test_damaged_files_are_errors_naming_the_file(tmp_path, damage, message):
    write_split(tmp_path / "d")
    target = tmp_path / "d" / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(GanlabError, match=message) as err:
        mnist(split="test", path=str(tmp_path / "d"))
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)


def test_label_count_mismatch(tmp_path):
    write_split(tmp_path / "d", n=5, labels=np.arange(4))
    with pytest.raises(GanlabError, match="4 labels for 5 images"):
        mnist(split="test", path=str(tmp_path / "d"))


def test_missing_files_in_the_given_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanlabError, match="no MNIST train files there; put train-images-idx3-ubyte.gz"):
        mnist(path=str(tmp_path / "empty"))
    with pytest.raises(GanlabError, match="no such folder"):
        mnist(path=str(tmp_path / "nope"))


def test_offline_download_says_which_files_to_put_where(tmp_path):
    with pytest.raises(GanlabError) as err:
        mnist(split="test")
    line = str(err.value)
    assert "cannot download MNIST" in line and "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz" in line
    assert str(tmp_path / "home" / ".ganlab" / "data" / "mnist") in line
    with pytest.raises(GanlabError, match="data.download is false"):
        mnist(split="test", download=False)


def _mirror(tmp_path, monkeypatch, corrupt=False):
    served = tmp_path / "mirror"
    write_split(served, n=4)
    for name in mnist_plugin.FILES["test"]:
        monkeypatch.setitem(mnist_plugin.MD5, name, hashlib.md5((served / name).read_bytes()).hexdigest())
    if corrupt:
        (served / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", served.as_uri() + "/")
    monkeypatch.setenv("GANLAB_DATA", str(tmp_path / "data"))


def test_download_verifies_checksums_and_keeps_the_files(tmp_path, monkeypatch):
    _mirror(tmp_path, monkeypatch)
    assert len(mnist(split="test")) == 4
    assert sorted(p.name for p in (tmp_path / "data" / "mnist").iterdir()) == sorted(mnist_plugin.FILES["test"])


def test_download_with_a_bad_checksum_keeps_nothing(tmp_path, monkeypatch):
    _mirror(tmp_path, monkeypatch, corrupt=True)
    with pytest.raises(GanlabError, match="t10k-labels-idx1-ubyte.gz from .* has MD5"):
        mnist(split="test")
    assert not (tmp_path / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "data" / "mnist").glob("*.part"))
