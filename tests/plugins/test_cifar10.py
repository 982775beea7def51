"""The cifar10 dataset: tiny archives in the official format written here, the channel-planar
layout, where it is looked for, the MD5-checked download and every failure path.

No test touches the network or the real home: HOME, KERAS_HOME and GANLAB_DATA point into
tmp_path, and downloads go to a ``file://`` mirror or an unreachable address.
"""

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab_plugins import cifar10 as cifar10_plugin
from ganlab_plugins.cifar10 import cifar10
from tests.helpers import UNREACHABLE


@pytest.fixture(autouse=True)
def offline(isolated_home, monkeypatch):
    monkeypatch.setenv("GANLAB_CIFAR10_MIRROR", UNREACHABLE)


def batch(n, first):
    """``n`` images whose R, G and B planes hold known, different values, as the official pickles store them."""
    planes = np.zeros((n, 3, 32, 32), np.uint8)
    for i in range(n):
        planes[i, 0] = first + i  # red: the image's number
        planes[i, 1, :, 5] = 100  # green: column 5
        planes[i, 2, 7, :] = 200  # blue: row 7
    labels = [(first + i) % 10 for i in range(n)]
    return {b"batch_label": b"batch", b"labels": labels, b"data": planes.reshape(n, 3072), b"filenames": [b"x"] * n}


def members(per_batch=2):
    """The official members: five train batches, the test batch and batches.meta, pickled with protocol 2."""
    found = {f"data_batch_{i}": batch(per_batch, 10 * i) for i in range(1, 6)}
    found["test_batch"] = batch(3, 100)
    found["batches.meta"] = {b"label_names": [b"airplane", b"automobile"], b"num_vis": 3072}
    return {name: pickle.dumps(content, protocol=2) for name, content in found.items()}


def write_archive(path, content=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, raw in (content or members()).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return path


def check_splits(source):
    train, test = cifar10(split="train", path=str(source)), cifar10(split="test", path=str(source))
    assert train.images.shape == (10, 32, 32, 3) and train.images.dtype == np.uint8
    assert test.images.shape == (3, 32, 32, 3)
    assert list(train.labels) == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1] and list(test.labels) == [0, 1, 2]
    image = test.images[1]  # the planes become height x width x channels
    assert (image[..., 0] == 101).all()
    assert (image[:, 5, 1] == 100).all() and image[:, 4, 1].max() == 0
    assert (image[7, :, 2] == 200).all() and image[6, :, 2].max() == 0
    assert [train.images[i, 0, 0, 0] for i in (0, 1, 2, 9)] == [10, 11, 20, 51]  # batches in order


def test_reads_the_archive_its_folder_and_the_extracted_batches(tmp_path):
    archive = write_archive(tmp_path / "d" / "cifar-10-python.tar.gz")
    check_splits(archive)
    check_splits(tmp_path / "d")
    with tarfile.open(archive) as t:
        t.extractall(tmp_path / "x", filter="data")
    check_splits(tmp_path / "x")
    check_splits(tmp_path / "x" / "cifar-10-batches-py")
    assert f"cifar10 test (3 images from {archive})" == cifar10(split="test", path=str(archive)).description


def test_search_order_without_a_path(tmp_path, monkeypatch):
    write_archive(tmp_path / "home" / ".ganlab" / "data" / "cifar10" / "cifar-10-python.tar.gz")
    assert len(cifar10(split="test", download=False)) == 3
    keras = write_archive(tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target" / "k.tar.gz")
    with tarfile.open(keras) as t:
        t.extractall(keras.parent, filter="data")
    assert "cifar-10-batches-py-target" in cifar10(split="test").description  # Keras's cache comes first
    content = members()
    content["test_batch"] = pickle.dumps(batch(4, 0), protocol=2)
    write_archive(tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz", content)
    monkeypatch.setenv("GANLAB_DATA", str(tmp_path / "data"))
    assert len(cifar10(split="test")) == 4  # $GANLAB_DATA before everything


def test_download_checks_the_md5_and_keeps_the_archive(tmp_path, monkeypatch):
    served = write_archive(tmp_path / "mirror" / "cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10_plugin, "MD5", hashlib.md5(served.read_bytes()).hexdigest())
    monkeypatch.setenv("GANLAB_CIFAR10_MIRROR", f"{UNREACHABLE} {served.parent.as_uri()}/")
    assert len(cifar10(split="test")) == 3
    target = tmp_path / "home" / ".ganlab" / "data" / "cifar10"
    assert os.listdir(target) == ["cifar-10-python.tar.gz"]
    monkeypatch.setenv("GANLAB_CIFAR10_MIRROR", UNREACHABLE)
    assert len(cifar10(split="train")) == 10  # the second time, nothing is fetched


def test_an_md5_mismatch_keeps_nothing_and_is_one_line(tmp_path, monkeypatch):
    served = write_archive(tmp_path / "mirror" / "cifar-10-python.tar.gz")
    monkeypatch.setenv("GANLAB_CIFAR10_MIRROR", served.parent.as_uri() + "/")
    with pytest.raises(GanlabError) as err:
        cifar10()
    target = tmp_path / "home" / ".ganlab" / "data" / "cifar10"
    assert len(err.value.lines) == 1
    assert f"cifar-10-python.tar.gz: MD5 {hashlib.md5(served.read_bytes()).hexdigest()}, expected " in str(err.value)
    assert str(err.value).endswith(
        f"put cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz) in {target}, "
        "or set data.path in the recipe"
    )
    assert os.listdir(target) == []


def test_offline_and_no_download_are_one_line(tmp_path):
    with pytest.raises(GanlabError) as err:
        cifar10(split="test")
    assert len(err.value.lines) == 1
    assert str(err.value).startswith(f"cannot download CIFAR-10 ({UNREACHABLE}cifar-10-python.tar.gz: URLError: ")
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz) in " in str(err.value)
    with pytest.raises(GanlabError, match="CIFAR-10 not found and data.download is false: put cifar-10-python.tar.gz"):
        cifar10(download=False)


def damaged(kind):
    content = members()
    if kind == "missing member":
        del content["data_batch_3"]
    elif kind == "bad pickle":
        content["test_batch"] = content["test_batch"][:50]
    elif kind == "wrong shape":
        bad = batch(2, 0)
        bad[b"data"] = bad[b"data"][:, :100]
        content["test_batch"] = pickle.dumps(bad, protocol=2)
    elif kind == "foreign object":
        content["test_batch"] = pickle.dumps(os.system, protocol=2)  # a reference to it: never called
    return content


@pytest.mark.parametrize(
    "kind, split, message",
    [
        ("truncated", "test", "cannot read .*it is damaged, replace it"),
        ("missing member", "train", "no cifar-10-batches-py/data_batch_3 in it; it is not the CIFAR-10 python archive"),
        ("bad pickle", "test", r"\(cifar-10-batches-py/test_batch\): not a CIFAR-10 batch"),
        ("wrong shape", "test", r"data is uint8 \(2, 100\) with \(2,\) labels, expected uint8 \(n, 3072\)"),
        ("foreign object", "test", "it asks for posix.system, which a CIFAR-10 batch never holds"),
    ],
)
def test_a_damaged_archive_is_one_line_naming_it(tmp_path, kind, split, message):
    archive = write_archive(tmp_path / "cifar-10-python.tar.gz", damaged(kind))
    if kind == "truncated":
        archive.write_bytes(archive.read_bytes()[:300])
    with pytest.raises(GanlabError, match=message) as err:
        cifar10(split=split, path=str(archive))
    assert str(err.value).startswith(str(archive)) and len(err.value.lines) == 1


def test_bad_path_and_split(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanlabError, match="empty: neither cifar-10-python.tar.gz nor a cifar-10-batches-py folder"):
        cifar10(path=str(tmp_path / "empty"))
    with pytest.raises(GanlabError, match="data.split: expected 'train' or 'test', found 'val'"):
        cifar10(split="val")
