"""Memory: the estimate that refuses a recipe before anything is allocated, and allocation
failures as one line. No test here allocates more than a few megabytes."""

import time

import numpy as np
import pytest
from keras.src.backend.common import global_state

from ganlab import resources
from ganlab.cli import main
from ganlab.errors import GanlabError
from ganlab.training.assemble import build_model, check_memory
from tests.helpers import tiny, write_npz

GIB = 2**30


def test_check_fits_names_the_numbers_and_the_setting_of_the_largest_part():
    parts = [
        resources.Part("G's weights (9 parameters)", 30 * GIB, "generator.hidden"),
        resources.Part("the 8x8 sample grids", 2 * GIB, "output.grid"),
    ]
    resources.check_fits(parts, available=40 * GIB)  # fits: nothing said
    with pytest.raises(GanlabError) as refused:
        resources.check_fits(parts, available=16 * GIB)
    assert str(refused.value) == (
        "this recipe needs about 32.0 GiB of memory but this machine has 16.0 GiB available "
        "(G's weights (9 parameters) 30.0 GiB; the 8x8 sample grids 2.0 GiB): lower generator.hidden"
    )


def test_available_bytes_is_this_machines_memory():
    available = resources.available_bytes()
    assert available is not None and 2**20 < available < 2**50


def test_the_estimate_grows_with_batch_grid_and_widths(reg):
    small, shape = tiny(reg), (8, 8, 1)
    base = sum(p.bytes for p in resources.estimate(small, shape, (1000, 1000), (100, 100)))
    for bigger in (
        tiny(reg, batch_size=64),
        tiny(reg, latent_dim=16),
    ):
        assert sum(p.bytes for p in resources.estimate(bigger, shape, (1000, 1000), (100, 100))) > base
    assert sum(p.bytes for p in resources.estimate(small, shape, (10**6, 1000), (100, 100))) > base
    with pytest.raises(GanlabError, match=r"the 64x64 sample grids .* lower output.grid"):
        grid = tiny(reg)
        grid.data["output"]["grid"] = 64
        resources.check_fits(resources.estimate(grid, (512, 512, 3)), available=GIB)


def test_weights_are_counted_without_allocating_them_and_keras_state_is_left_alone(reg):
    recipe = tiny(reg)
    builder = recipe.components["generator"].builder
    names_before = global_state.get_global_attribute("object_name_uids")
    names_before = None if names_before is None else dict(names_before)
    queued_before = [id(v) for v in global_state.get_global_attribute("uninitialized_variables") or []]
    started = time.perf_counter()
    weights, activations = resources.count_weights(builder, {"latent_dim": 100, "image_shape": (28, 28, 1),
                                                             "hidden": (10**9,)})
    assert time.perf_counter() - started < 5  # 400 GB of weights: counted, not allocated
    assert weights == 100 * 10**9 + 10**9 + 10**9 * 784 + 784 + 4 * 10**9  # dense, dense, batch norm
    assert activations >= 10**9 + 784
    names_after = global_state.get_global_attribute("object_name_uids")
    assert (None if names_after is None else dict(names_after)) == names_before
    # Other tests in this process may have left variables queued; the count adds none.
    assert [id(v) for v in global_state.get_global_attribute("uninitialized_variables") or []] == queued_before


@pytest.mark.parametrize("training", [{"width": 10**9}, {"width": 10**6, "latent_dim": 65536}])
def test_build_model_refuses_a_recipe_that_cannot_fit_before_building(reg, training):
    recipe = tiny(reg, **training)
    with pytest.raises(GanlabError, match=r"needs about [\d,.]+ GiB of memory but this machine has .* lower "
                                          r"training.latent_dim or generator.hidden"):
        build_model(recipe, (8, 8, 1))


def test_a_recipe_that_fits_passes_the_check(reg):
    check_memory(tiny(reg), (8, 8, 1))


def test_allocation_failures_are_recognised_by_type_cause_and_message():
    with pytest.raises(MemoryError) as numpy_failure:
        np.empty(2**62, np.uint8)  # refused by the allocator at once: nothing is touched
    wrapped = RuntimeError("while building")
    wrapped.__cause__ = ValueError("OOM when allocating tensor with shape[100,1000000000]")
    for exc in (MemoryError(), numpy_failure.value, wrapped, type("ResourceExhaustedError", (Exception,), {})()):
        assert resources.is_allocation_failure(exc), exc
    assert not resources.is_allocation_failure(ValueError("shapes (2, 3) and (4,) do not match"))


def test_allocating_turns_a_failure_into_one_line_naming_what_and_which_setting():
    with pytest.raises(GanlabError) as caught, resources.allocating("G, D and their optimizers", "generator.hidden"):
        raise MemoryError("Unable to allocate 373. GiB for an array with shape (100000000000,)")
    assert str(caught.value) == (
        "out of memory while allocating G, D and their optimizers (MemoryError: Unable to allocate 373. GiB "
        "for an array with shape (100000000000,)); lower generator.hidden"
    )
    with pytest.raises(ValueError), resources.allocating("x"):
        raise ValueError("not about memory")


def test_cli_reports_an_allocation_failure_of_any_command_in_one_line(monkeypatch, capsys):
    def out_of_memory(args):
        raise MemoryError("Unable to allocate 8.00 EiB for an array with shape (2**60,) and data type float64")

    monkeypatch.setattr("ganlab.cli.cmd_list", out_of_memory)
    assert main(["list"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganlab: error: out of memory (MemoryError: Unable to allocate")


def test_ganlab_run_with_a_model_that_cannot_fit_is_one_line_and_leaves_no_run_directory(tmp_path, capsys):
    data = write_npz(tmp_path / "d.npz", n=64)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"data: {{name: arrays, path: {data}, images_key: x}}\n"
        "generator: {name: mlp, hidden: [32]}\ndiscriminator: {name: mlp, hidden: [32]}\nloss: {name: bce}\n"
        "training: {epochs: 1, batch_size: 16, latent_dim: 8}\n"
    )
    out = tmp_path / "run"
    assert main(["run", str(recipe), "--out", str(out), "--set", "generator.hidden=[1000000000]"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "GiB of memory but this machine has" in errors[0], errors
    assert "lower training.latent_dim or generator.hidden" in errors[0]
    assert not out.exists()
