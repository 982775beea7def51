"""ganlab.training.checkpoint: save, find the newest readable one, read its metadata, restore."""

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.training import checkpoint
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
