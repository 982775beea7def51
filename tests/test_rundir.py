"""The run directory's owner: its file names, atomic writes, and what a run leaves there."""

import os

import numpy as np
import pytest

from ganlab import rundir
from ganlab.rundir import RunDir, atomic_path, leftover_temps, temp_path


def test_file_names(tmp_path):
    files = RunDir(tmp_path)
    names = {
        files.recipe: "recipe.yaml",
        files.metrics: "metrics.csv",
        files.real: "real.png",
        files.samples: "samples",
        files.progress: "progress.gif",
        files.losses: "losses.png",
        files.quality: "quality.png",
        files.checkpoints: "checkpoints",
        files.generator: "generator.keras",
        files.generator_raw: "generator_raw.keras",
        files.generator_best: "generator_best.keras",
        files.best: "best.json",
        files.eval_results: "eval.json",
        files.tensorboard: "tensorboard",
    }
    for path, name in names.items():
        assert path == tmp_path / name
    assert files.sample_grid(7) == tmp_path / "samples" / "epoch_0007.png"
    assert RunDir(str(tmp_path)).root == tmp_path


def test_sample_grids_in_epoch_order_and_other_files_ignored(tmp_path):
    files = RunDir(tmp_path)
    for epoch in (10, 2, 9):
        files.sample_grid(epoch).parent.mkdir(exist_ok=True)
        files.sample_grid(epoch).write_bytes(b"")
    (files.samples / "epoch_notes.png").write_bytes(b"")
    (files.samples / ".epoch_0011.tmp.png").write_bytes(b"")  # a grid being written
    assert files.sample_grids() == [(2, files.sample_grid(2)), (9, files.sample_grid(9)), (10, files.sample_grid(10))]
    assert RunDir(tmp_path / "missing").sample_grids() == []


def test_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    path = tmp_path / "grid.png"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("sync", [False, True])
def test_the_file_appears_complete_in_one_rename(tmp_path, monkeypatch, sync):
    path = tmp_path / "sub" / "state.npz"
    path.parent.mkdir()
    path.write_bytes(b"old")
    renames = []
    real_replace = os.replace

    def replace(src, dst):
        renames.append((src, dst, open(src, "rb").read()))  # what the reader gets, all at once
        real_replace(src, dst)

    monkeypatch.setattr(rundir.os, "replace", replace)
    with atomic_path(path, sync=sync) as tmp:
        assert tmp.parent == path.parent and tmp.suffix == ".npz" and tmp.name.startswith(".")
        assert tmp == temp_path(path)
        with open(tmp, "wb") as f:
            f.write(b"new, ")
            assert path.read_bytes() == b"old"  # a reader still sees the old file
            f.write(b"complete")
    assert renames == [(tmp, path, b"new, complete")]
    assert path.read_bytes() == b"new, complete"
    assert list(path.parent.iterdir()) == [path]


def test_the_parent_folder_is_created(tmp_path):
    with atomic_path(tmp_path / "a" / "b.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "a" / "b.txt").read_text() == "x"


def test_leftover_temps_are_both_kinds_and_no_complete_file(tmp_path):
    for name in ("epoch_0003.npz", ".epoch_0004.tmp.npz", "epoch_0002.npz.tmp", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in leftover_temps(tmp_path)] == [".epoch_0004.tmp.npz", "epoch_0002.npz.tmp"]


def test_latest_checkpoint_ignores_temp_files(tmp_path):
    from ganlab.training import checkpoint

    folder = RunDir(tmp_path).checkpoints
    folder.mkdir()
    with open(temp_path(folder / "epoch_0001.npz"), "wb") as f:  # complete, but never renamed into place
        np.savez(f, __meta__=np.array('{"epoch": 1, "step": 4, "format": 1}'))
    assert checkpoint.latest(tmp_path) is None


def test_save_and_load_a_generator(tmp_path):
    import keras

    from ganlab.training.layers import HashDropout

    keras.utils.set_random_seed(0)
    z = keras.Input((4,))
    generator = keras.Model(z, HashDropout(0.5)(keras.layers.Dense(3)(z)))
    path = RunDir(tmp_path).generator
    rundir.save_model(generator, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generator.keras"]
    loaded = rundir.load_generator(path)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), np.asarray(generator(x, training=False)))


def test_a_run_leaves_the_named_files_and_no_temp_files(reg, tmp_path):
    from ganlab.training.run import train
    from tests.helpers import tiny

    run_dir = train(tiny(reg, epochs=1, ema=0.9), out=tmp_path / "run")
    files = RunDir(run_dir)
    for path in (files.recipe, files.metrics, files.real, files.progress, files.losses, files.generator,
                 files.generator_raw, files.sample_grid(1), files.checkpoints / "epoch_0001.npz"):
        assert path.is_file(), path
    assert [p for p in run_dir.rglob("*") if ".tmp" in p.name] == []
    assert rundir.stored_output_range(files.recipe) == (-1.0, 1.0)
    assert rundir.stored_num_classes(files.recipe) is None


@pytest.mark.parametrize("damage", ["truncated", "zero-filled", "one flipped byte"])
def test_a_damaged_generator_is_one_line_saying_how_to_write_it_again(tmp_path, damage):
    import keras

    from ganlab import GanlabError

    z = keras.Input((4,))
    path = RunDir(tmp_path).generator
    rundir.save_model(keras.Model(z, keras.layers.Dense(3)(keras.layers.Dense(64)(z))), path)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "zero-filled":
        data = bytearray(len(data))
    else:
        data[len(data) // 2] ^= 0xFF  # inside the weights: only the CRC check sees it
    path.write_bytes(bytes(data))
    with pytest.raises(GanlabError) as damaged:
        rundir.load_generator(path)
    line, = damaged.value.lines
    assert f"{path} is damaged (" in line and f"'ganlab run --resume {tmp_path}'" in line


@pytest.mark.parametrize(
    "text, what",
    [
        ("data: {name: noise}\ngenerator: {name: mlp\n", "does not read as YAML"),
        ("data: {name: noise}\ngenerator: {name: mlp}\n", "sections discriminator, loss, training missing"),
        ("- a list\n", "not a mapping"),
        (b"\xff\xfe binary", "does not read as YAML"),
        ("data: {}\ngenerator: {}\ndiscriminator: {}\nloss: bce\ntraining: {latent_dim: '8', noise: normal}\n",
         "training.latent_dim or training.noise"),
        ("data: {}\ngenerator: {}\ndiscriminator: {}\nloss: bce\ntraining: {latent_dim: 8, noise: normal}\n"
         "provenance: {output_range: [0]}\n", "provenance.output_range"),
    ],
)
def test_a_damaged_stored_recipe_is_one_line(tmp_path, text, what):
    from ganlab import GanlabError

    path = RunDir(tmp_path).recipe
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(GanlabError) as damaged:
        rundir.read_stored_recipe(path)
    line, = damaged.value.lines
    assert line.startswith(f"{path} is damaged (") and what in line and "put back the recipe.yaml" in line
