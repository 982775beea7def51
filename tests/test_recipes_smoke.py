"""Each shipped recipe trains for a few steps through the real CLI on the MNIST test split."""

import pytest

from tests.conftest import ROOT, run_cli


@pytest.mark.parametrize("recipe", sorted(p.name for p in (ROOT / "recipes").glob("*.yaml")))
def test_recipe_trains_through_the_cli(recipe, mnist_dir, tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "run", f"recipes/{recipe}",
        "--set", f"data.path={mnist_dir}", "--set", "data.split=test",
        "--set", "training.steps=6", "--set", "training.steps_per_execution=3", "--set", "output.grid=4",
        "--out", out,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for name in ("recipe.yaml", "metrics.csv", "real.png", "progress.gif", "losses.png", "generator.keras"):
        assert (out / name).is_file(), name
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[1] == "6"  # one epoch of 6 steps
