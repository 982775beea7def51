"""The fashion_mnist dataset: small IDX files written here, the Keras cache and GANLAB_DATA,
checked downloads, and the offline error through the CLI.

No test touches the network or the real home: HOME, KERAS_HOME and GANLAB_DATA point into
tmp_path, and the Fashion-MNIST mirror is a port where nothing listens.
"""

import hashlib

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab_plugins import fashion_mnist as fashion_plugin
from ganlab_plugins.fashion_mnist import fashion_mnist
from tests.conftest import run_cli
from tests.helpers import UNREACHABLE, write_split

pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.fixture(autouse=True)
def unreachable_fashion_mirror(monkeypatch):
    monkeypatch.setenv("GANLAB_FASHION_MNIST_MIRROR", UNREACHABLE)


def test_fashion_mnist_reads_small_idx_files(tmp_path):
    images, labels = write_split(tmp_path / "d", n=7)
    data = fashion_mnist(split="test", path=str(tmp_path / "d"))
    assert np.array_equal(data.images[..., 0], images) and np.array_equal(data.labels, labels)
    assert data.image_shape == (28, 28, 1)
    assert data.description == f"fashion_mnist test (7 images from {tmp_path / 'd'})"


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
    downloaded = tmp_path / "home" / ".ganlab" / "data" / "fashion_mnist"
    assert sorted(p.name for p in downloaded.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_fashion_mnist_offline_is_one_line_naming_where_to_put_the_files(tmp_path):
    folder = tmp_path / "home" / ".ganlab" / "data" / "fashion_mnist"
    result = run_cli(
        "run", "recipes/dcgan_fashion_mnist.yaml", "--set", "data.split=test", "--out", tmp_path / "run",
        env={"HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"ganlab: error: cannot download Fashion-MNIST ({UNREACHABLE}t10k-images-idx3-ubyte.gz: URLError: "
    )
    assert lines[0].endswith(
        f"put t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in {folder}, or set data.path in the recipe"
    )
    assert not (tmp_path / "run").exists()
