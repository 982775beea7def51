"""`ganlab bench`: well-formed output and FLOP counting (no timing assertions)."""

import json

import pytest

from ganlab.cli import main
from tests.conftest import run_cli


def test_bench_json_is_well_formed(mnist_dir):
    result = run_cli(
        "bench", "recipes/vanilla_mnist.yaml", "--steps", 3, "--batch-size", 32, "--json",
        "--set", f"data.path={mnist_dir}", "--set", "data.split=test",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    r = json.loads(result.stdout)
    assert r["batch_size"] == 32 and r["steps"] == 3
    for key in (
        "steps_per_second",
        "images_per_second",
        "time_to_first_step_seconds",
        "peak_rss_bytes",
        "peak_matmul_gflops",
        "mfu",
    ):
        assert r[key] > 0, key
    assert r["images_per_second"] == pytest.approx(32 * r["steps_per_second"])
    assert r["step_gflop"] == pytest.approx(step_gflop_by_hand(32), rel=1e-9)


def step_gflop_by_hand(batch):
    """The vanilla MLPs' FLOPs, from their layer sizes alone."""
    g = 2 * (100 * 256 + 256 * 512 + 512 * 1024 + 1024 * 784)
    d = 2 * (784 * 512 + 512 * 256 + 256 * 1)
    return (batch * (g + 6 * d) + batch * (3 * g + 2 * d)) / 1e9


@pytest.mark.parametrize("flag, value", [("--steps", "0"), ("--steps", "1000000000"), ("--batch-size", "0")])
def test_bench_refuses_counts_out_of_range_before_loading_anything(flag, value, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["bench", "no/such/recipe.yaml", flag, value])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(lines) == 1
    assert lines[0].startswith(f"ganlab bench: error: argument {flag}: expected a whole number") and value in lines[0]
