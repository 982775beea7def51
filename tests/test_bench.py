"""`ganlab bench`: well-formed output and FLOP counting (no timing assertions)."""

import json

import pytest

from ganlab.cli import main
from tests.conftest import run_cli


def test_bench_json_is_well_formed(mnist_dir):
    result = run_cli(
        "bench",
        "recipes/vanilla_mnist.yaml",
        "--steps",
        3,
        "--batch-size",
        32,
        "--json",
        "--set",
        f"data.path={mnist_dir}",
        "--set",
        "data.split=test",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    r = json.loads(result.stdout)
    assert r["batch_size"] == 32 and r["steps"] >= 3 and r["steps"] % r["steps_per_execution"] == 0  # whole executions
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


def test_compare_times_every_candidate_beside_the_auto_choice(reg, monkeypatch, caplog):
    from ganlab import bench
    from ganlab.training import machine
    from tests.helpers import tiny

    amx = {"cpu": "Test CPU", "flags": ["amx_bf16"], "gpus": [], "onednn_isa": "Test ISA", "matmul_gflops": None}
    monkeypatch.setattr(machine, "describe", lambda **_: amx)
    monkeypatch.setattr(bench, "peak_flops", lambda dtype: {"float32": 1e11, "bfloat16": 4e11}[dtype])
    monkeypatch.setattr(bench, "JIT_CHOICES", (False,))  # XLA compiles would cost most of the test's time
    monkeypatch.setattr(bench, "STEPS_PER_EXECUTION_CHOICES", (1, 2))
    turns, timed = [], bench._Timed.timed
    monkeypatch.setattr(bench._Timed, "timed", lambda self, steps: (turns.append(self.per_call), timed(self, steps)))
    result = bench.compare(tiny(reg, jit_compile=False, steps_per_execution=3), steps=2)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]  # its five builds, not the user's recipe
    rounds = [turns[i : i + 5] for i in range(0, len(turns), 5)]  # 5 configurations
    assert result["rounds"] == len(rounds) == bench.ROUNDS == 5 and all(sorted(r) == sorted(rounds[0]) for r in rounds)
    assert [r[0] for r in rounds] == rounds[0]  # each round starts one configuration later
    configs = [(r["precision"], r["jit_compile"], r["steps_per_execution"]) for r in result["rows"]]
    auto = ("float32", False, 3)  # an AMX CPU, a dense model; the recipe's jit_compile and 3 steps per execution
    assert configs == [*bench.candidates(amx), auto] and len(set(configs)) == 5
    assert [r["auto"] for r in result["rows"]] == [False] * 4 + [True] and result["rows"][-1]["vs_auto"] == 1.0
    flops = []  # MFU x the peak of the row's precision / steps/s: the step's FLOPs, the same in every row
    for r in result["rows"]:
        assert r["steps_per_second"] > 0 and r["images_per_second"] == pytest.approx(64 * r["steps_per_second"])
        flops.append(r["mfu"] * (4e11 if r["precision"] == "mixed_bfloat16" else 1e11) / r["steps_per_second"])
    assert flops == pytest.approx([flops[0]] * 5)
    assert result["auto"] == "precision auto -> float32 (AMX CPU, dense-only model: float32 under XLA is faster today)"
    lines = bench.compare_report(result).splitlines()
    assert lines[1] == "hardware  Test CPU (amx_bf16); oneDNN: Test ISA"
    assert lines[2].startswith("peaks     float32 100, bfloat16 400 GFLOP/s")
    rows = lines[lines.index("") + 2 :]
    assert len(rows) == 5 and [row[0] for row in rows] == [" "] * 4 + ["*"]
    assert rows[-1].split()[1:5] == ["float32", "false", "3", f"{result['rows'][-1]['steps_per_second']:.1f}"]
