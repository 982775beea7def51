"""``precision: auto`` / ``jit_compile: auto``: the decision table on fake machines, explicit keys
winning, the machine description and its cache, and a run that records its choice and keeps it
on resume on another machine."""

import pytest
import yaml

from ganlab.recipe.validate import validate
from ganlab.training import auto_config, machine
from ganlab.training.auto_config import decide, resolve
from tests.helpers import tiny


def cpu(*flags, rates=None):
    """A fake CPU-only machine; ``flags=None`` for one whose flags cannot be read."""
    flags = None if flags == (None,) else list(flags)
    return {"cpu": "test CPU", "flags": flags, "gpus": [], "onednn_isa": None, "matmul_gflops": rates}


def gpu(capability):
    return {**cpu("avx512f"), "gpus": [{"name": "Test GPU", "compute_capability": list(capability)}]}


AMX = cpu("amx_bf16", "avx512_bf16", "avx512f")


@pytest.mark.parametrize(
    "machine_, kind, expected",
    [
        (AMX, "conv", ("mixed_bfloat16", False, 10)),
        (AMX, "dense", ("float32", True, 10)),
        (cpu("avx512_bf16", "avx512f"), "conv", ("float32", False, 10)),  # AVX-512 BF16 without AMX
        (cpu("avx512_bf16", "avx512f"), "dense", ("float32", True, 10)),
        (cpu("avx512f"), "dense", ("float32", True, 10)),
        (cpu(), "conv", ("float32", False, 10)),
        (cpu(None, rates={"float32": 100.0, "bfloat16": 500.0}), "conv", ("mixed_bfloat16", False, 10)),  # probed
        (cpu(None, rates={"float32": 100.0, "bfloat16": 120.0}), "conv", ("float32", False, 10)),
        (cpu(None), "dense", ("float32", True, 10)),  # flags unknown and no probe result
        (gpu((8, 0)), "conv", ("mixed_bfloat16", True, None)),
        (gpu((9, 0)), "dense", ("mixed_bfloat16", True, None)),
        (gpu((7, 5)), "conv", ("mixed_float16", True, None)),
    ],
)
def test_the_decision_table(machine_, kind, expected):
    choice = decide(machine_, kind)
    assert (choice.precision, choice.jit_compile, choice.steps_per_execution) == expected
    assert choice.reason and choice == decide(machine_, kind)  # deterministic


def test_an_explicit_precision_is_kept_and_the_rest_chosen_for_it():
    kept = decide(AMX, "conv", precision="float32")  # oneDNN's float32 convolutions beat XLA's
    assert (kept.precision, kept.jit_compile, kept.steps_per_execution) == ("float32", False, 10)
    dense_bf16 = decide(AMX, "dense", precision="mixed_bfloat16")  # oneDNN's bfloat16 products on AMX
    assert (dense_bf16.precision, dense_bf16.jit_compile) == ("mixed_bfloat16", False)
    slow_bf16 = decide(cpu("avx512_bf16", "avx512f"), "conv", precision="mixed_bfloat16")  # XLA's, without AMX
    assert (slow_bf16.precision, slow_bf16.jit_compile) == ("mixed_bfloat16", True)
    assert decide(gpu((7, 0)), "dense", precision="mixed_bfloat16").precision == "mixed_bfloat16"


@pytest.mark.parametrize(
    "strategy, expected",
    [
        ("mirrored", ("mixed_bfloat16", False, None)),  # what distribute.execution allows: no XLA, 1 step
        ("multi_worker", ("float32", False, None)),  # alike on every worker
        ("tpu", ("mixed_bfloat16", False, None)),
    ],
)
def test_distributed_strategies_keep_what_they_can_run(strategy, expected):
    choice = decide(AMX, "conv", strategy)
    assert (choice.precision, choice.jit_compile, choice.steps_per_execution) == expected


def conv_recipe(reg, **training):
    data = {
        "data": {"name": "noise", "n": 64},
        "generator": {"name": "dcgan", "base_filters": 4},
        "discriminator": {"name": "dcgan", "base_filters": 4},
        "loss": "bce",
        "training": {"epochs": 1, "batch_size": 16, "latent_dim": 8, **training},
    }
    return validate(data, reg, source="conv.yaml")


def test_resolve_decides_only_auto_keys(reg):
    recipe = conv_recipe(reg, steps_per_execution=2)
    assert (recipe["training"]["precision"], recipe["training"]["jit_compile"]) == ("auto", "auto")  # the defaults
    decided, note = resolve(recipe, (8, 8, 1), machine=AMX)
    t = decided["training"]
    assert (t["precision"], t["jit_compile"], t["steps_per_execution"]) == ("mixed_bfloat16", False, 10)
    assert note == (
        "precision auto -> mixed_bfloat16, jit_compile auto -> false, steps_per_execution 2 -> 10 (AMX CPU, conv model)"
    )
    assert recipe["training"]["precision"] == "auto"  # the recipe given is left alone
    for per_epoch, steps in ((78, 13), (780, 10), (97, 10)):  # a divisor within twice the minimum, else it
        decided = resolve(recipe, (8, 8, 1), machine=AMX, num_images=16 * per_epoch + 5)[0]
        assert decided["training"]["steps_per_execution"] == steps
    for machine_ in (AMX, cpu("avx512f")):  # under XLA only a divisor: an epoch is never cut for it
        for per_epoch, steps in ((78, 13), (97, 2)):
            dense = resolve(tiny(reg), (8, 8, 1), machine=machine_, num_images=64 * per_epoch)[0]  # 64 images a step
            assert (dense["training"]["jit_compile"], dense["training"]["steps_per_execution"]) == (True, steps)

    # the epoch as the run counts it: after the D-validation hold-out (80 -> 72 steps), at most training.steps
    held = resolve(tiny(reg, d_validation=0.1), (8, 8, 1), machine=AMX, num_images=64 * 80)[0]
    assert held["training"]["steps_per_execution"] == 12
    capped = resolve(tiny(reg, epochs=None, steps=26), (8, 8, 1), machine=AMX, num_images=64 * 80)[0]
    assert capped["training"]["steps_per_execution"] == 13

    explicit, note = resolve(conv_recipe(reg, precision="float32"), (8, 8, 1), machine=AMX)
    assert (explicit["training"]["precision"], explicit["training"]["jit_compile"]) == ("float32", False)
    assert note.startswith("jit_compile auto -> false, steps_per_execution 1 -> 10 (")

    both = conv_recipe(reg, precision="mixed_bfloat16", jit_compile=True)
    assert resolve(both, (8, 8, 1), machine=AMX) == (both, None)


def test_model_kind_reads_the_layers(reg):
    assert auto_config.model_kind(conv_recipe(reg), (8, 8, 1)) == "conv"
    assert auto_config.model_kind(tiny(reg), (8, 8, 1)) == "dense"


def test_unresolved_auto_builds_as_float32_under_xla(reg):
    t = tiny(reg)["training"]
    assert (auto_config.settled(t, "precision"), auto_config.settled(t, "jit_compile")) == ("float32", True)


def test_cpu_flags_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test Xeon\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n\n")
    assert machine.cpu(info, environ={}) == {"cpu": "Test Xeon", "flags": ["amx_bf16", "avx512f"]}
    info.write_text("processor\t: 0\nFeatures\t: fp asimd\n")  # an ARM Linux: no x86 flags to read
    assert machine.cpu(info)["flags"] is None
    assert machine.cpu(tmp_path / "missing")["flags"] is None


@pytest.mark.parametrize(
    "cap, flags",
    [
        ("AVX512_CORE_BF16", ["avx512_bf16", "avx512f"]),
        ("avx512_core", ["avx512f"]),
        ("AVX2", []),
        ("ALL", ["amx_bf16", "avx512_bf16", "avx512f"]),
        ("NOT_AN_ISA", ["amx_bf16", "avx512_bf16", "avx512f"]),
    ],
)
def test_a_onednn_isa_cap_hides_the_flags_it_rules_out(tmp_path, cap, flags):
    """ONEDNN_MAX_CPU_ISA below AMX makes the CPU compute as one without it, so auto must decide as for one."""
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: Test Xeon\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16\n")
    assert machine.cpu(info, environ={"ONEDNN_MAX_CPU_ISA": cap})["flags"] == flags
    assert machine.cpu(info, environ={"DNNL_MAX_CPU_ISA": cap})["flags"] == flags


def test_the_probe_runs_once_per_machine(isolated_home, monkeypatch):
    calls = []

    def probe():
        calls.append(1)
        return {"onednn_isa": "Test ISA", "matmul_gflops": {"float32": 1.0, "bfloat16": 3.0}}

    monkeypatch.setattr(machine, "_probe", probe)
    first = machine.describe(with_gpus=False, probe=True)
    assert machine.describe(with_gpus=False, probe=True) == first and calls == [1]
    assert first["onednn_isa"] == "Test ISA"


def test_a_run_records_its_choice_and_a_resume_keeps_it_on_another_machine(reg, tmp_path, monkeypatch, capsys):
    from ganlab.training.run import resume, train

    monkeypatch.setattr(machine, "describe", lambda **_: gpu((8, 0)))
    run_dir = train(tiny(reg, epochs=1, jit_compile=False), out=tmp_path / "run")
    line = "ganlab: precision auto -> mixed_bfloat16 (GPU Test GPU with bfloat16)"
    assert capsys.readouterr().out.count(line) == 1
    stored = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    assert stored["training"]["precision"] == "mixed_bfloat16"
    assert stored["provenance"]["auto"] == line.removeprefix("ganlab: ")

    monkeypatch.setattr(machine, "describe", lambda **_: cpu())  # would choose float32
    resume(run_dir, reg, ["training.epochs=2"])
    assert "precision auto" not in capsys.readouterr().out
    stored = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    assert stored["training"]["precision"] == "mixed_bfloat16"
    assert stored["provenance"]["auto"] == line.removeprefix("ganlab: ")


def test_float16_scales_both_players_losses(reg):
    import keras

    from ganlab.training.assemble import build_model

    model = build_model(tiny(reg, epochs=1, precision="mixed_float16", jit_compile=False), (8, 8, 1))
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert float(optimizer.scale_loss(keras.ops.ones(()))) > 1  # the engine's losses are multiplied by this
    assert not isinstance(build_model(tiny(reg, epochs=1), (8, 8, 1)).g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_float16_steps_are_as_large_as_float32_ones(reg):
    """Adam's first step moves each weight by about the learning rate whatever the gradient's
    size, unless the gradient is below epsilon: a loss left unscaled while the optimizer
    unscales its gradients (divides by 32768) shrinks most of them below it."""
    import keras
    import numpy as np

    from ganlab.training.assemble import build_model

    recipe = tiny(reg, epochs=1, precision="mixed_float16", jit_compile=False)
    keras.utils.set_random_seed(0)
    model = build_model(recipe, (8, 8, 1))
    before = [v.numpy() for v in model.discriminator.trainable_variables]
    model.make_train_function()
    real = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")  # k = 2 D steps of 32
    model.train_function(iter([real, real]))  # one execution: 2 steps
    steps = [np.abs(v.numpy() - b).ravel() for v, b in zip(model.discriminator.trainable_variables, before)]
    rate = recipe["training"]["optimizer"]["learning_rate"]
    assert np.median(np.concatenate(steps)) > 0.5 * rate
