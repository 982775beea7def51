"""Each shipped recipe trains for a few steps through the CLI on the MNIST test split (as
IDX files, or for a folder-of-images recipe as 48 PNG files made from it, all of them even
where the recipe takes a subset)."""

import imageio.v3 as iio
import pytest
import yaml

from ganlab.cli import main
from ganlab_plugins.mnist import mnist
from tests.conftest import ROOT, run_cli

#: CPU-sized widths for the recipes of GPU-sized networks: the smoke test checks that the
#: recipe composes and trains (one epoch of 6 steps), not the networks' size or its D steps.
SMALLER = {
    "sngan": ["--set", "generator.width=16", "--set", "discriminator.width=16", "--set", "training.d_steps=1"]
    + ["--set", "training.jit_compile=false"],  # XLA: tests/plugins/test_sngan.py
}


def data_settings(recipe, mnist_dir, tmp_path):
    """The --set flags that point the recipe's dataset at the MNIST test split (and shrink its networks)."""
    spec = yaml.safe_load((ROOT / "recipes" / recipe).read_text())
    smaller = next((flags for prefix, flags in SMALLER.items() if recipe.startswith(prefix)), [])
    if spec["data"]["name"] != "image_folder":
        return ["--set", f"data.path={mnist_dir}", "--set", "data.split=test", *smaller]
    data = mnist(split="test", path=str(mnist_dir))
    for i, (image, label) in enumerate(zip(data.images[:48], data.labels[:48])):  # 6 steps of 8
        folder = tmp_path / "images" / (str(label) if spec["data"].get("labels") else "")
        folder.mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / f"{i:02d}.png", image[..., 0])
    size = ["--set", "data.size=[32,32]", "--set", "training.batch_size=8"]
    whole = ["--set", "data.subset=null"] if spec["data"].get("subset") else []  # a subset larger than the 48
    return ["--set", f"data.path={tmp_path / 'images'}", *size, *whole, *smaller]


def train_through_the_cli(recipe, args, capsys):
    """(exit status, stderr) of ``ganlab run recipes/RECIPE ARGS``: in a fresh process for
    the README's recipe, in this one (the same ``main``, without TensorFlow's start-up
    each time) for the others."""
    argv = ["run", str(ROOT / "recipes" / recipe), *map(str, args)]
    if recipe == "vanilla_mnist.yaml":
        result = run_cli(*argv)
        return result.returncode, result.stderr
    capsys.readouterr()
    return main(argv), capsys.readouterr().err


@pytest.mark.parametrize("recipe", sorted(p.name for p in (ROOT / "recipes").glob("*.yaml")))
def test_recipe_trains_through_the_cli(recipe, mnist_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code, stderr = train_through_the_cli(
        recipe,
        [
            *data_settings(recipe, mnist_dir, tmp_path),
            "--set", "training.steps=6", "--set", "training.steps_per_execution=3", "--set", "output.grid=4",
            "--out", out,
        ],
        capsys,
    )
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    for name in ("recipe.yaml", "metrics.csv", "real.png", "progress.gif", "losses.png", "generator.keras"):
        assert (out / name).is_file(), name
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[1] == "6"  # one epoch of 6 steps
