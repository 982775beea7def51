"""Every ganlab-extras component against ganlab's contracts, via ganlab's pytest plugin."""

import pytest


@pytest.mark.ganlab_plugin("extras")
def test_component_honours_its_contract(ganlab_contract, digits_csv):
    ganlab_contract.check(params={"dataset.csv_pixels.path": str(digits_csv)})
