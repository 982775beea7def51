"""Every first-party component against its kind's contract, through ganlab's own pytest plugin.

The marker names the distribution, so a component added to ``plugins/`` is checked
without touching this file.
"""

import pytest

from tests.conftest import MNIST_DIR

MNIST = {"dataset.mnist.path": str(MNIST_DIR), "dataset.mnist.split": "test", "dataset.mnist.download": False}


@pytest.mark.ganlab_plugin("ganlab", params=MNIST)
def test_first_party_component_honours_its_contract(ganlab_contract):
    if ganlab_contract.component.name == "mnist" and not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test split not found in {MNIST_DIR}")
    results = ganlab_contract.check()
    assert all(r.ok for r in results) and len(results) >= 4
