"""Training end to end on tiny settings: run directory, exact resume, determinism, faults."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.errors import TrainingDiverged
from tests.conftest import ROOT
from tests.helpers import final_state, tiny


def test_run_directory_holds_what_a_person_wants_to_see(reg, tmp_path):
    import imageio.v3 as iio
    import keras
    import yaml

    from ganlab.training.run import train

    run_dir = train(tiny(reg, epochs=3), out=tmp_path / "run")
    names = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert {"recipe.yaml", "metrics.csv", "real.png", "progress.gif", "losses.png", "generator.keras"} <= names
    assert {f"samples/epoch_000{i}.png" for i in (1, 2, 3)} <= names
    assert {"checkpoints/epoch_0002.npz", "checkpoints/epoch_0003.npz"} <= names and not any(".tmp" in n for n in names)
    stored = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    assert stored["provenance"]["ganlab"] and stored["provenance"]["seed"] == 0
    assert stored["provenance"]["components"]["generator"].startswith("mlp:mlp (ganlab ")
    rows = (run_dir / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch,step,d_loss,g_loss,d_acc_real,d_acc_fake") and len(rows) == 4
    assert iio.imread(run_dir / "progress.gif", index=None).shape[0] == 3
    generator = keras.models.load_model(run_dir / "generator.keras", compile=False)
    assert generator.output_shape == (None, 8, 8, 1)


def test_same_recipe_and_seed_give_the_same_weights(reg, tmp_path):
    """Whatever the steps per execution (which ``auto`` may raise): they change speed, not the result."""
    from ganlab.training.run import train

    _, a = final_state(train(tiny(reg), out=tmp_path / "a"))  # 2 steps per execution
    _, b = final_state(train(tiny(reg, steps_per_execution=4), out=tmp_path / "b"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    _, c = final_state(train(tiny(reg, seed=1), out=tmp_path / "c"))
    assert not np.array_equal(a["generator/00000"], c["generator/00000"])


@pytest.mark.parametrize("ema, info_modes", [(None, 0), (0.9, 0), (None, 3)])
def test_resume_is_exact(reg, tmp_path, ema, info_modes):
    from ganlab.training.run import resume, train

    straight_run = train(tiny(reg, epochs=4, ema=ema, info_modes=info_modes), out=tmp_path / "straight")
    straight_meta, straight = final_state(straight_run)
    assert any(k.startswith("ema_generator/") for k in straight) == (ema is not None)
    assert any(k.startswith("mode_guess/") for k in straight) == (info_modes > 0)
    run_dir = train(tiny(reg, epochs=2, ema=ema, info_modes=info_modes), out=tmp_path / "stopped")
    resume(run_dir, reg, ["training.epochs=4"])
    meta, resumed = final_state(run_dir)
    assert meta == straight_meta == {"epoch": 4, "step": 16, "format": 1}
    assert all(np.array_equal(straight[k], resumed[k]) for k in straight)
    assert len((run_dir / "metrics.csv").read_text().strip().splitlines()) == 5
    assert len(list((run_dir / "samples").glob("epoch_*.png"))) == 4


def test_resume_refuses_a_different_recipe(reg, tmp_path):
    from ganlab.training.run import resume, train

    run_dir = train(tiny(reg, epochs=1), out=tmp_path / "run")
    with pytest.raises(GanlabError, match=r"these differ: generator.hidden, training.batch_size"):
        resume(run_dir, reg, ["training.epochs=2", "training.batch_size=16", "generator.hidden=[8]"])
    with pytest.raises(GanlabError, match="already trained to epoch 1"):
        resume(run_dir, reg)
    resume(run_dir, reg, ["training.epochs=2", "distribute.sync_batch_norm=false"])  # where it trains may change
    assert final_state(run_dir)[0]["epoch"] == 2


def test_steps_limit(reg, tmp_path):
    from ganlab.training.run import train

    meta, _ = final_state(train(tiny(reg, epochs=None, steps=5, steps_per_execution=1), out=tmp_path / "run"))
    assert meta["step"] == 5


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(reg, tmp_path):
    from ganlab.training.run import train

    recipe = tiny(reg, epochs=3, loss={"name": "explodes", "after": 6}, steps_per_execution=1)
    with pytest.raises(TrainingDiverged, match=r"g_loss became nan at step 7: .*epoch_0001.npz"):
        train(recipe, out=tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["epoch_0001.npz"]


def test_dataset_smaller_than_a_step_is_refused_before_anything_is_written(reg, tmp_path):
    from ganlab.training.run import train

    with pytest.raises(GanlabError, match=r"has 40 images, fewer than one train step needs .*= 64\)"):
        train(tiny(reg, n=40), out=tmp_path / "run")


def test_a_refused_builder_parameter_leaves_no_empty_run_directory(reg, tmp_path):
    from ganlab.training.run import train

    recipe = tiny(reg)
    recipe["generator"]["dropout"] = 1.5  # only the builder checks this
    with pytest.raises(GanlabError, match=r"generator mlp: dropout must be in \[0, 1\), found 1.5"):
        train(recipe, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    mine = tmp_path / "mine"
    mine.mkdir()  # an empty folder the user made stays
    with pytest.raises(GanlabError, match="dropout must be"):
        train(recipe, out=mine)
    assert mine.is_dir()


def test_unwritable_or_used_output_directory(reg, tmp_path):
    from ganlab.training.run import train

    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    with pytest.raises(GanlabError, match="cannot write run directory"):
        train(tiny(reg), out=blocker / "run")
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    with pytest.raises(GanlabError, match="folder exists and is not empty"):
        train(tiny(reg), out=used)
    assert blocker.read_text() == "keep me" and (used / "notes.txt").read_text() == "mine"


KILL_SCRIPT = """
import sys
from ganlab.components.loading import load_registry
from ganlab.training.run import train
from tests import toy_plugins
from tests.helpers import tiny
reg = load_registry(plugins=[("toolkit", toy_plugins.Toolkit())])
recipe = tiny(reg, epochs=400, n=64, width=1024)  # a few MB per checkpoint: a write takes a while
train(recipe, out=sys.argv[1])
"""


def test_kill_during_checkpoint_write_leaves_the_previous_checkpoint_usable(reg, tmp_path):
    """SIGKILL the trainer while a checkpoint's temporary file exists, then resume."""
    from ganlab.training import checkpoint
    from ganlab.training.run import resume

    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(run_dir)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = run_dir / "checkpoints"
    caught = None
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            tmp = list(folder.glob(".*.tmp.npz")) if folder.exists() else []
            if tmp and list(folder.glob("epoch_*.npz")):  # a complete one, beside the one being written
                os.kill(proc.pid, signal.SIGKILL)
                caught = tmp[0]
                break
    finally:
        proc.kill()
        proc.wait()
    assert caught is not None, "never saw a checkpoint being written"
    path, meta = checkpoint.latest(run_dir)
    assert path.name < caught.name.lstrip(".")  # the half-written one is not taken
    resume(run_dir, reg, ["training.epochs=" + str(meta["epoch"] + 1)])
    assert not list(folder.glob("*.tmp*"))  # the killed write's leftover is cleaned up
    assert checkpoint.latest(run_dir)[1]["epoch"] == meta["epoch"] + 1


def test_concatenated_d_batch_and_uniform_noise_train(reg, tmp_path):
    from ganlab.training.run import train

    recipe = tiny(reg, epochs=1, d_batch="concat", noise="uniform", d_steps=1)
    meta, state = final_state(train(recipe, out=tmp_path / "run"))
    assert meta["step"] == 8 and all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


def test_a_write_error_mid_run_is_one_line_and_keeps_the_checkpoints(reg, tmp_path):
    from ganlab.training.run import resume, train

    run_dir = train(tiny(reg, epochs=1), out=tmp_path / "run")
    before = (run_dir / "checkpoints" / "epoch_0001.npz").read_bytes()
    samples = run_dir / "samples"
    for path in samples.iterdir():
        path.unlink()
    samples.rmdir()
    samples.write_text("a file where the samples folder should be")
    with pytest.raises(GanlabError, match=r"cannot write to .*run: .*continue with --resume"):
        resume(run_dir, reg, ["training.epochs=3"])
    assert (run_dir / "checkpoints" / "epoch_0001.npz").read_bytes() == before


def test_ema_generator_is_the_warmed_up_moving_average_of_g(reg, tmp_path):
    import keras

    from ganlab.training.assemble import build_model
    from ganlab.training.run import train

    recipe = tiny(reg, epochs=1, ema=0.5, steps_per_execution=1)
    model = build_model(recipe, (8, 8, 1))
    before = [v.numpy().copy() for v in model.generator.trainable_variables]
    real = np.zeros((64, 8, 8, 1), np.float32)
    model.train_on_batch(real)
    decay = min(0.5, (1 + 1) / (10 + 1))  # after the first G step, iterations == 1
    for shadow, old, new in zip(model.ema_generator.trainable_variables, before, model.generator.trainable_variables):
        np.testing.assert_allclose(shadow.numpy(), decay * old + (1 - decay) * new.numpy(), rtol=1e-5, atol=1e-6)
    run_dir = train(recipe, out=tmp_path / "run")
    averaged = keras.models.load_model(run_dir / "generator.keras", compile=False)
    raw = keras.models.load_model(run_dir / "generator_raw.keras", compile=False)
    assert not np.array_equal(averaged.get_weights()[0], raw.get_weights()[0])


def test_mixed_bfloat16_computes_in_bfloat16_with_float32_weights(reg, tmp_path):
    import keras

    from ganlab.training.assemble import build_model
    from ganlab.training.run import train

    recipe = tiny(reg, epochs=1, precision="mixed_bfloat16")
    model = build_model(recipe, (8, 8, 1))
    assert model.generator(np.zeros((2, 8), np.float32)).dtype == "bfloat16"
    assert {v.dtype for v in model.generator.trainable_variables} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    meta, state = final_state(train(recipe, out=tmp_path / "run"))
    assert meta["step"] == 4 and all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


def test_d_validation_logs_ds_accuracy_on_held_out_reals(reg, tmp_path):
    from ganlab.callbacks.metrics_csv import read_rows
    from ganlab.training.run import train

    run_dir = train(tiny(reg, epochs=2, d_validation=0.25), out=tmp_path / "run")
    rows = read_rows(run_dir / "metrics.csv")
    assert [row["step"] for row in rows] == ["2", "4"]  # 192 of 256 images train: 3 steps of 64, cut to executions of 2
    for row in rows:
        assert 0 <= float(row["d_acc_val_real"]) <= 1 and 0 <= float(row["d_acc_train_real"]) <= 1
    plain = read_rows(train(tiny(reg, epochs=1), out=tmp_path / "plain") / "metrics.csv")
    assert plain[0]["d_acc_val_real"] == ""
    with pytest.raises(GanlabError, match="d_validation"):
        tiny(reg, d_validation=0.9)


def test_tensorboard_logs_scalars_and_sample_grids(reg, tmp_path):
    import tensorflow as tf

    from ganlab.training.run import train

    recipe = tiny(reg, epochs=2, d_validation=0.25)
    recipe.data["output"]["tensorboard"] = True
    run_dir = train(recipe, out=tmp_path / "run")
    tags = {}
    for events in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                tags.setdefault(value.tag, set()).add(event.step)
    assert tags["d_loss"] == tags["d_acc_val_real"] == tags["samples"] == {1, 2}


def test_tensorboard_without_the_package_is_a_recipe_error(reg, monkeypatch):
    import importlib.util

    from ganlab.recipe.validate import validate

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a)
    )
    data = {**tiny(reg).data, "output": {"tensorboard": True}}
    data.pop("provenance", None)
    with pytest.raises(GanlabError, match=r"output.tensorboard.*pip install tensorboard"):
        validate(data, reg, source="tiny.yaml")


def test_a_run_killed_during_its_final_save_is_finished_by_resume(reg, tmp_path, capsys):
    """Training reached the end, but generator.keras (and generator_raw.keras) were never written:
    sample draws from the last checkpoint, and --resume writes them from it, the same weights."""
    from ganlab.rundir import load_generator
    from ganlab.sampling import sample
    from ganlab.training.run import resume, train

    run_dir = train(tiny(reg, epochs=1, ema=0.9), out=tmp_path / "run")
    saved = {name: load_generator(run_dir / name).get_weights() for name in ("generator.keras", "generator_raw.keras")}
    sample(run_dir, tmp_path / "saved.npz", n=6)
    for name in saved:
        (run_dir / name).unlink()
    sample(run_dir, tmp_path / "restored.npz", n=6, registry=reg)  # drawn from the last checkpoint meanwhile
    assert "drawing from epoch_0001.npz; 'ganlab run --resume" in capsys.readouterr().err
    # The same weights in the same layers; the loaded and the rebuilt model may pick other kernels.
    np.testing.assert_allclose(*(np.load(tmp_path / f)["images"] for f in ("saved.npz", "restored.npz")), atol=1e-6)
    resume(run_dir, reg)
    assert "had finished training; wrote generator.keras from epoch_0001.npz" in capsys.readouterr().out
    for name, weights in saved.items():
        again = load_generator(run_dir / name).get_weights()
        assert len(again) == len(weights) and all(np.array_equal(a, b) for a, b in zip(again, weights))
    with pytest.raises(GanlabError, match="already trained to epoch 1"):  # once saved, there is nothing to do
        resume(run_dir, reg)


def test_resume_of_a_run_being_written_and_an_edited_recipe_are_refused(reg, tmp_path):
    from ganlab.runlock import acquire
    from ganlab.training.run import resume, train

    run_dir = train(tiny(reg, epochs=1), out=tmp_path / "run")
    with acquire(run_dir, "a trainer"):
        before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
        holder = rf"--resume {run_dir}: a ganlab process is writing .*\(pid {os.getpid()} "
        with pytest.raises(GanlabError, match=holder):
            resume(run_dir, reg, ["training.epochs=2"])
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    stored = run_dir / "recipe.yaml"
    text = stored.read_text()
    edited_text = text.replace("batch_size: 32", "batch_size: 16")
    stored.write_text(re.sub(r"learning_rate: [-+0-9.e]+", "learning_rate: 0.1", edited_text))
    with pytest.raises(GanlabError) as edited:
        resume(run_dir, reg, ["training.epochs=2"])
    line, = edited.value.lines
    assert "recipe.yaml differs from the recipe epoch_0001.npz was trained with: " in line
    assert "training.batch_size (32 there, 16 now)" in line and "learning_rate (0.0002 there, 0.1 now)" in line
    stored.write_text(text[: len(text) // 3])
    with pytest.raises(GanlabError, match=r"recipe.yaml is damaged \("):
        resume(run_dir, reg, ["training.epochs=2"])


@pytest.mark.parametrize("fail_at", [1, 2])
def test_a_full_disk_says_what_is_kept_and_leaves_no_partial_file(reg, tmp_path, monkeypatch, fail_at):
    import errno

    from ganlab.training import checkpoint
    from ganlab.training.run import train

    real_savez, calls = np.savez, []

    def savez(f, *args, **kwargs):
        calls.append(1)
        if len(calls) == fail_at:
            f.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_savez(f, *args, **kwargs)

    monkeypatch.setattr(checkpoint.np, "savez", savez)
    with pytest.raises(GanlabError) as full:
        train(tiny(reg, epochs=2), out=tmp_path / "run")
    line, = full.value.lines
    if fail_at == 1:
        assert "No space left on device; no checkpoint had been written, so there is nothing to resume" in line
    else:
        assert "the last complete checkpoint, epoch_0001.npz (epoch 1), is kept: make room and continue with" in line
    assert [p for p in (tmp_path / "run").rglob("*") if ".tmp" in p.name] == []


def test_a_plugins_exception_in_a_training_step_is_one_line_naming_it(tmp_path):
    """A loss whose penalty breaks on the (batch, height, width, channels) batches of a run:
    the run ends in one GanlabError naming the loss, its plugin and where (not a traceback)."""
    from ganlab.components.loading import load_registry
    from ganlab.training.run import train
    from tests import toy_plugins

    registry = load_registry(plugins=[("toolkit", toy_plugins.Toolkit()), ("pen", toy_plugins.Penalties())])
    with pytest.raises(GanlabError) as raised:
        train(tiny(registry, epochs=1, loss="flat_gp"), out=tmp_path / "run")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("loss 'pen:flat_gp' (plugin pen) failed in a training step")
    assert "penalty" in message and "ganlab check-plugin pen" in message
