"""What a builder must return, checked on every build: one line naming the kind, the plugin and the
component, the same from ``Component.build``, ``ganlab check-plugin`` and ``ganlab run``."""

import json

import numpy as np
import pytest

from ganlab import GanlabError, ImageData
from ganlab.components.component import Component
from tests.conftest import run_cli
from tests.helpers import fake_distribution


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((4, 8, 8, 1), np.float32), None, "images must be uint8 (0..255), found float32"),
        (
            np.zeros((4, 8, 8), np.uint8),
            None,
            "images must have shape (n, height, width, channels), found (4, 8, 8); "
            "add a channel axis with images[..., None]",
        ),
        (
            [np.zeros((8, 8, 1), np.uint8)] * 2,
            None,
            "images must be one numpy array (n, height, width, channels), found a list of 2 images; np.stack them",
        ),
        (
            np.zeros((4, 8, 8, 2), np.uint8),
            None,
            "found images of shape (4, 8, 8, 2); "
            "ganlab needs at least one image with 1 (grayscale) or 3 (RGB) channels",
        ),
        (
            np.zeros((4, 8, 8, 1), np.uint8),
            np.zeros(3, int),
            "labels must be integers of shape (4,), one per image, found int64 (3,)",
        ),
    ],
)
def test_image_data_that_breaks_the_contract_is_one_line(images, labels, message):
    component = Component("dataset", "x", lambda: ImageData(images, labels), "bad")
    with pytest.raises(GanlabError) as info:
        component.build()
    assert str(info.value) == f"dataset 'bad:x': {message}"


RAGGED = """
    import numpy as np
    from ganlab import ImageData, hookimpl

    def ragged():
        '''Images of two sizes.'''
        return ImageData([np.zeros((8, 8, 1), np.uint8), np.zeros((7, 8, 1), np.uint8)])

    @hookimpl
    def register_datasets(register):
        register('ragged', ragged)
"""


def test_check_plugin_and_run_name_the_broken_component(tmp_path):
    path = fake_distribution(tmp_path, "ganlab_ragged", RAGGED, {"rag": "ganlab_ragged"})
    env = {"PYTHONPATH": str(path)}
    message = (
        "dataset 'rag:ragged': images have inconsistent shapes: image 0 is (8, 8, 1), image 1 is (7, 8, 1); "
        "every image must have the same (height, width, channels)"
    )
    checked = run_cli("check-plugin", "ganlab-ragged", env=env)
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[-1] == (
        f"FAIL  dataset rag:ragged: builds: with defaults: {message.split(': ', 1)[1]}"
    )
    assert checked.stderr.strip() == (
        "ganlab: error: check-plugin ganlab-ragged: 1 of 2 checks failed (FAIL lines above)"
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data: rag:ragged\ngenerator: mlp\ndiscriminator: mlp\nloss: bce\ntraining: {steps: 1}\n")
    ran = run_cli("run", recipe, "--out", tmp_path / "run", env=env)
    assert ran.returncode == 2 and ran.stderr.strip() == f"ganlab: error: {message}"
    listed = json.loads(run_cli("list", "--json", env=env).stdout)
    assert [c["plugin"] for c in listed["components"]["dataset"] if c["name"] == "ragged"] == ["rag"]
