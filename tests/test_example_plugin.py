"""The example plugin package, installed from its own metadata the way users install it.

``pip install --target`` builds docs/examples/ganlab-extras (its pyproject.toml, no
download: ``--no-deps --no-build-isolation``) into a folder that goes on PYTHONPATH, so
ganlab finds it through the entry point its metadata declares.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, run_cli

EXAMPLE = ROOT / "docs" / "examples" / "ganlab-extras"
#: The example's component in each recipe section (docs/examples/ganlab-extras/recipes/sngan_digits.yaml).
SECTIONS = {"data": "csv_pixels", "generator": "upsample_conv", "discriminator": "sn_conv", "loss": "fgan"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    source = tmp_path_factory.mktemp("src") / "ganlab-extras"
    # the build writes beside the sources
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    pip = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "--target", str(target), str(source),
    ]  # fmt: skip
    result = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return {"PYTHONPATH": str(target)}


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    sys.path.insert(0, str(EXAMPLE / "tests"))
    try:
        from conftest import write_digits_csv  # the example's own test data writer
    finally:
        sys.path.remove(str(EXAMPLE / "tests"))
    path = tmp_path_factory.mktemp("data") / "train.csv"
    write_digits_csv(path, n=64)
    return path


def test_ganlab_list_shows_the_installed_example(site):
    result = run_cli("list", "--json", env=site)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    extras = {(kind, c["name"]): c for kind, cs in listed["components"].items() for c in cs if c["plugin"] == "extras"}
    assert sorted(extras) == [
        ("dataset", "csv_pixels"),
        ("discriminator", "sn_conv"),
        ("generator", "upsample_conv"),
        ("loss", "fgan"),
    ]
    assert {(c["distribution"], c["version"]) for c in extras.values()} == {("ganlab-extras", "0.1.0")}
    assert {
        "name": "divergence",
        "type": "kl|reverse_kl|pearson|squared_hellinger|jensen_shannon",
        "required": False,
        "default": "squared_hellinger",
    } in extras[("loss", "fgan")]["params"]
    assert {
        "name": "extras",
        "distribution": "ganlab-extras",
        "version": "0.1.0",
        "hooks": ["register_datasets", "register_discriminators", "register_generators", "register_losses"],
    } in listed["plugins"]
    assert listed["failed"] == []


def test_the_example_recipe_trains_with_the_example_components(site, digits_csv, tmp_path):
    # XLA compilation of the whole train step costs more than the run; the contract tests compile each component.
    tiny = [
        "generator.base_filters=4",
        "discriminator.base_filters=4",
        "training.steps=2",
        "training.batch_size=16",
        "training.jit_compile=false",
        "output.grid=2",
    ]
    args = ["--set", f"data.path={digits_csv}"] + [arg for pair in tiny for arg in ("--set", pair)]
    result = run_cli("run", EXAMPLE / "recipes" / "sngan_digits.yaml", *args, "--out", tmp_path / "run", env=site)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "generator.keras").is_file()
    provenance = yaml.safe_load((tmp_path / "run" / "recipe.yaml").read_text())["provenance"]["components"]
    assert provenance == {section: f"extras:{name} (ganlab-extras 0.1.0)" for section, name in SECTIONS.items()}
    metrics = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 2 and metrics[1].startswith("1,2,")


def test_the_example_test_suite_passes_through_the_pytest_plugin(site):
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(EXAMPLE / "tests")]
    env = {**os.environ, **site}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=EXAMPLE, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    # ganlab.testing's header
    header = [line for line in result.stdout.splitlines() if line.startswith("ganlab 0.1.0: plugins ")]
    assert len(header) == 1 and header[0].endswith(", extras (ganlab-extras 0.1.0)")
    for kind, name in SECTIONS.items():
        kind = "dataset" if kind == "data" else kind
        assert f"test_component_honours_its_contract[{kind}-extras:{name}] PASSED" in result.stdout
