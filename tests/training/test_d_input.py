"""Engine options from the literature: instance noise (annealed), and how a run uses them."""

import numpy as np
import pytest

from ganlab import GanlabError
from tests.helpers import final_state, tiny


def test_instance_noise_is_annealed_to_zero(reg):  # noqa: F811
    from ganlab.training.assemble import build_model

    model = build_model(tiny(reg, instance_noise=0.5), (8, 8, 1), total_steps=10)
    images = np.zeros((4000, 8, 8, 1), np.float32)
    for step, std in ((0, 0.5), (5, 0.25), (10, 0.0), (12, 0.0)):
        model.g_optimizer.iterations.assign(step)
        noisy = np.asarray(model._with_instance_noise(images))
        assert noisy.std() == pytest.approx(std, abs=0.005), step
    off = build_model(tiny(reg), (8, 8, 1), total_steps=10)
    assert off._with_instance_noise(images) is images


def test_a_run_with_instance_noise_differs_only_by_it(reg, tmp_path):  # noqa: F811
    from ganlab.training.run import train

    _, plain = final_state(train(tiny(reg, epochs=1), out=tmp_path / "plain"))
    meta, noisy = final_state(train(tiny(reg, epochs=1, instance_noise=0.3), out=tmp_path / "noisy"))
    assert meta["step"] == 4 and not np.array_equal(plain["discriminator/00000"], noisy["discriminator/00000"])
    with pytest.raises(GanlabError, match="instance_noise"):
        tiny(reg, instance_noise=-1.0)


def test_hold_out_splits_arrays_and_files_the_same_way():
    from ganlab.components.interfaces import ImageFiles
    from ganlab.training.stream import hold_out

    images = np.arange(20, dtype=np.uint8).reshape(20, 1, 1, 1)
    kept, held = hold_out(images, 0.25, seed=3)
    assert len(held) == 5 and len(kept) == 15
    assert sorted(np.concatenate([kept, held]).ravel().tolist()) == list(range(20))
    assert np.array_equal(hold_out(images, 0.25, seed=3)[1], held) and not np.array_equal(hold_out(images, 0.25, seed=4)[1], held)
    files = ImageFiles([f"{i}.png" for i in range(20)], (1, 1, 1), decode=None)
    kept_files, held_files = hold_out(files, 0.25, seed=3)
    assert held_files.paths == [f"{i}.png" for i in held.ravel()] and len(kept_files) == 15


def test_d_validation_logs_ds_accuracy_on_held_out_reals(reg, tmp_path):  # noqa: F811
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


def test_tensorboard_logs_scalars_and_sample_grids(reg, tmp_path):  # noqa: F811
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


def test_tensorboard_without_the_package_is_a_recipe_error(reg, monkeypatch):  # noqa: F811
    import importlib.util

    from ganlab.recipe.validate import validate

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a))
    data = {**tiny(reg).data, "output": {"tensorboard": True}}
    data.pop("provenance", None)
    with pytest.raises(GanlabError, match=r"output.tensorboard.*pip install tensorboard"):
        validate(data, reg, source="tiny.yaml")
