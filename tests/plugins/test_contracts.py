"""Every first-party component against its kind's contract, through ganlab's own pytest plugin.

The marker names the distribution, so a component added to ``plugins/`` is checked
without touching this file, except a dataset: it needs data on disk, and
``DATASETS`` says how to find or make it. A dataset missing there fails, with the fix.
"""

import pytest

from tests.conftest import MNIST_DIR
from tests.helpers import write_images, write_npz, write_split


def mnist(tmp_path):
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test split not found in {MNIST_DIR}")
    return {"path": str(MNIST_DIR), "split": "test", "download": False}


def fashion_mnist(tmp_path):
    write_split(tmp_path / "fashion", n=20)
    return {"path": str(tmp_path / "fashion"), "split": "test", "download": False}


def image_folder(tmp_path):  # decoded as they stream, so the stream's file path is checked
    write_images(tmp_path / "images")
    return {"path": str(tmp_path / "images"), "size": [8, 8], "labels": True, "in_memory": False}


def arrays(tmp_path):
    return {"path": str(write_npz(tmp_path / "a.npz"))}


#: dataset name -> function(tmp_path) returning the parameters that build it from local files.
def cifar10(tmp_path):
    from tests.plugins.test_cifar10 import write_archive

    write_archive(tmp_path / "cifar-10-python.tar.gz")
    return {"path": str(tmp_path / "cifar-10-python.tar.gz"), "split": "train", "download": False}


DATASETS = {
    "mnist": mnist,
    "fashion_mnist": fashion_mnist,
    "image_folder": image_folder,
    "arrays": arrays,
    "cifar10": cifar10,
}


@pytest.mark.ganlab_plugin("ganlab")
def test_first_party_component_honours_its_contract(ganlab_contract, tmp_path):
    component = ganlab_contract.component
    params = {}
    if component.kind == "dataset":
        if component.name not in DATASETS:
            missing = f"no test data for first-party dataset '{component.name}': add it to DATASETS in {__file__}"
            pytest.fail(missing, pytrace=False)
        params = {f"dataset.{component.name}.{key}": value for key, value in DATASETS[component.name](tmp_path).items()}
    results = ganlab_contract.check(params)
    assert all(r.ok for r in results) and len(results) >= 4
