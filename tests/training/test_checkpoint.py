"""ganlab.training.checkpoint: save, find the newest readable one, read its metadata, restore."""

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.training import checkpoint, recipe_change
from ganlab.training.assemble import build_model
from tests.helpers import tiny

META = {"epoch": 1, "step": 4, "format": 1}


def trained(reg, **training):
    """A tiny model after one train step, so that optimizer state and seeds have moved."""
    model = build_model(tiny(reg, jit_compile=False, **training), (8, 8, 1))
    model.train_on_batch(np.zeros((64, 8, 8, 1), np.float32))
    return model


def state(model):
    groups = checkpoint.state_groups(model)
    return {group: [np.array(v.numpy()) for v in variables] for group, variables in groups.items()}


def test_save_latest_read_meta_and_restore_round_trip(reg, tmp_path):
    model = trained(reg, ema=0.9, info_modes=3)
    path = checkpoint.save(model, tmp_path, epoch=1, step=4)
    assert checkpoint.latest(tmp_path) == (path, META) and checkpoint.read_meta(path) == META
    other = build_model(tiny(reg, seed=1, ema=0.9, info_modes=3), (8, 8, 1))  # other weights, same shapes
    groups = {"generator", "discriminator", "noise", "g_optimizer", "d_optimizer", "ema_generator", "mode_guess"}
    assert set(state(other)) == groups
    assert checkpoint.restore(other, path) == META
    saved, restored = state(model), state(other)
    assert all(np.array_equal(a, b) for group in saved for a, b in zip(saved[group], restored[group]))
    assert checkpoint.latest(tmp_path / "nothing_here") is None


def test_only_the_newest_checkpoints_are_kept(reg, tmp_path):
    model = build_model(tiny(reg), (8, 8, 1))
    paths = [checkpoint.save(model, tmp_path, epoch=e, step=4 * e) for e in range(1, checkpoint.KEEP + 3)]
    assert sorted(p.name for p in paths[0].parent.iterdir()) == [p.name for p in paths[-checkpoint.KEEP :]]
    assert checkpoint.latest(tmp_path)[1]["epoch"] == checkpoint.KEEP + 2


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_newest_checkpoint_is_skipped(reg, tmp_path, damage):
    model = build_model(tiny(reg), (8, 8, 1))
    first = checkpoint.save(model, tmp_path, epoch=1, step=4)
    newest = checkpoint.save(model, tmp_path, epoch=2, step=8)
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a checkpoint" * 64)
    with pytest.raises(ValueError):
        checkpoint.read_meta(newest)
    assert checkpoint.latest(tmp_path) == (first, META)


def test_restore_refuses_a_checkpoint_of_another_model_in_one_line(reg, tmp_path):
    path = checkpoint.save(build_model(tiny(reg), (8, 8, 1)), tmp_path, epoch=1, step=4)
    with pytest.raises(GanlabError) as wider:
        checkpoint.restore(build_model(tiny(reg, width=16), (8, 8, 1)), path)
    assert len(wider.value.lines) == 1 and "the recipe's model expects" in wider.value.lines[0]
    with pytest.raises(GanlabError) as with_ema:
        checkpoint.restore(build_model(tiny(reg, ema=0.9), (8, 8, 1)), path)
    assert len(with_ema.value.lines) == 1
    assert "ema_generator has 0 variables" in with_ema.value.lines[0] and "a different model" in with_ema.value.lines[0]


def _write(path, meta, arrays):
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)


@pytest.mark.parametrize(
    "meta, what",
    [
        ({"epoch": "2", "step": 8, "format": 1}, "epoch is '2'"),
        ({"epoch": 2, "format": 1}, "step is None"),
        ({"epoch": 2, "step": -8, "format": 1}, "step is -8"),
        ({"epoch": 2, "step": 8, "format": 7}, "format is 7"),
        (["epoch", 2], "not a mapping"),
        ({"epoch": 2, "step": 8, "format": 1, "recipe": {"a": 1}, "fingerprint": "0"}, "fingerprint"),
    ],
)
def test_checkpoint_metadata_of_a_wrong_type_or_missing_a_key_is_damage(reg, tmp_path, capsys, meta, what):
    model = build_model(tiny(reg), (8, 8, 1))
    first = checkpoint.save(model, tmp_path, epoch=1, step=4)
    newest = tmp_path / "checkpoints" / "epoch_0002.npz"
    _write(newest, meta, {"generator/00000": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match=what):
        checkpoint.read_meta(newest)
    assert checkpoint.latest(tmp_path) == (first, META)
    assert f"ganlab: warning: skipping {newest}: damaged (" in capsys.readouterr().err
    with pytest.raises(GanlabError, match=f"{newest} is damaged .*delete it to resume from the one before"):
        checkpoint.restore(model, newest)


def test_non_finite_weights_are_never_checkpointed_nor_resumed_from(reg, tmp_path, capsys):
    model = build_model(tiny(reg), (8, 8, 1))
    first = checkpoint.save(model, tmp_path, epoch=1, step=4)
    weights = model.generator.variables[0]
    weights.assign(np.full(weights.shape, np.inf, np.float32))
    assert checkpoint.save(model, tmp_path, epoch=2, step=8) is None
    assert "generator/00000 hold NaN or infinite values: no checkpoint written; the newest stays epoch_0001.npz" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in first.parent.iterdir()) == ["epoch_0001.npz"]
    with np.load(first) as f:  # one written before the check existed
        arrays = {k: f[k] for k in f.files if k != "__meta__"}
    arrays["discriminator/00001"] = arrays["discriminator/00001"] * np.nan
    _write(first.with_name("epoch_0002.npz"), {"epoch": 2, "step": 8, "format": 1}, arrays)
    assert checkpoint.latest(tmp_path) == (first, META)
    assert "skipping" in capsys.readouterr().err


def test_a_checkpoint_records_the_recipe_it_was_trained_with(reg, tmp_path):
    recipe = tiny(reg)
    record = recipe_change.record(recipe)
    assert record["training.batch_size"] == 32 and "training.epochs" not in record
    path = checkpoint.save(build_model(recipe, (8, 8, 1)), tmp_path, epoch=1, step=4, recipe=record)
    assert checkpoint.read_meta(path) == META and checkpoint.read_recipe_record(path) == record
    assert checkpoint.read_recipe_record(checkpoint.save(build_model(recipe, (8, 8, 1)), tmp_path, 2, 8)) is None
