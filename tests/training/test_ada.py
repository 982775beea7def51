"""ganlab.training.ada: p moves with the sign of D's outputs on reals, stays in [0, 1], is fed by the
engine's D step and read by DiffAugment, is checkpointed (an exact resume mid-interval) and logged
to metrics.csv."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from ganlab import GanlabError
from ganlab.callbacks.metrics_csv import MetricsCSV
from ganlab.training import checkpoint
from ganlab.training.ada import INTERVAL, Ada
from ganlab.training.assemble import build_model
from tests.helpers import tiny


def logits(positive, negative):
    return tf.constant([[3.0]] * positive + [[-0.5]] * negative)


def state(ada):
    return [float(v.numpy()) for v in ada.variables]


def test_p_rises_while_d_is_sure_of_the_reals_falls_otherwise_and_stays_in_0_1():
    ada = Ada(target=0.6, kimg=1)  # p moves by (images in the interval) / 1000
    for _ in range(INTERVAL - 1):
        ada.observe(logits(25, 0))
    assert state(ada) == [0.0, 75.0, 75.0, 3.0]  # p waits for the interval's end
    ada.observe(logits(25, 0))  # r = 1 > 0.6: up by 100 / 1000
    assert state(ada) == pytest.approx([0.1, 0.0, 0.0, 0.0])
    for _ in range(INTERVAL):
        ada.observe(logits(20, 5))  # r = (20 - 5) / 25 = 0.6: at the target, p stays
    assert float(ada.p.numpy()) == pytest.approx(0.1)
    for _ in range(2 * INTERVAL):
        ada.observe(logits(10, 15))  # r = -0.2 < 0.6: down by 0.1 per interval, and no lower than 0
    assert float(ada.p.numpy()) == 0.0
    for _ in range(INTERVAL):
        ada.observe(logits(300, 0))  # up by 1.2: clipped to 1
    assert float(ada.p.numpy()) == 1.0


def ada_model(reg, **training):
    recipe = tiny(reg, diffaugment="color,translation,cutout", ada_target=0.6, ada_kimg=1, **training)
    return build_model(recipe, (8, 8, 1), jit_compile=False)


def test_the_sign_is_taken_against_the_losss_threshold(reg):
    ada = ada_model(reg, loss="lsgan").ada  # lsgan with a=0, b=1: outputs above 0.5 count as real
    assert ada.threshold == 0.5
    for _ in range(INTERVAL):
        ada.observe(tf.fill((25, 1), 0.4))
    assert float(ada.p.numpy()) == 0.0
    for _ in range(INTERVAL):
        ada.observe(tf.fill((25, 1), 0.6))
    assert float(ada.p.numpy()) == pytest.approx(0.1)


def test_the_d_step_feeds_ada_ds_outputs_on_the_reals_and_p_reaches_what_d_sees(reg):
    model = ada_model(reg)
    assert model.ada.threshold == model.adversarial_loss.threshold and model.ada.target == 0.6
    observed = []
    observe = model.ada.observe
    model.ada.observe = lambda real_logits: observed.append(real_logits) or observe(real_logits)
    _, real_logits, _ = model._d_step(tf.fill((32, 8, 8, 1), 0.5))
    assert observed == [real_logits] and state(model.ada)[2:] == [32.0, 1.0]
    images = tf.fill((16, 8, 8, 1), 0.5)
    np.testing.assert_array_equal(model._for_d(images), images)  # p = 0: no op applies
    model.ada.p.assign(1.0)
    assert not np.array_equal(model._for_d(images), images)


def test_a_resume_mid_interval_continues_exactly(reg, tmp_path):
    batches = [tf.constant(np.random.default_rng(i).uniform(-1, 1, (64, 8, 8, 1)).astype(np.float32)) for i in range(6)]
    model = ada_model(reg, loss={"name": "bce", "r1_gamma": 1.0, "r1_every": 4})
    model.ada.p.assign(0.5)
    for batch in batches[:3]:  # 2 D steps each: 6 D steps, half an interval after the first adjustment
        model.train_step(batch)
    assert state(model.ada)[3] == 2.0
    path = checkpoint.save(model, tmp_path, epoch=1, step=3)
    for batch in batches[3:]:
        model.train_step(batch)
    resumed = ada_model(reg, loss={"name": "bce", "r1_gamma": 1.0, "r1_every": 4})
    checkpoint.restore(resumed, path)
    for batch in batches[3:]:
        resumed.train_step(batch)
    straight, again = checkpoint.state_groups(model), checkpoint.state_groups(resumed)
    assert len(straight["ada"]) == 4 and float(model.ada.p.numpy()) != 0.5  # p moved after the save
    for group in straight:
        for a, b in zip(straight[group], again[group]):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=group)


def test_metrics_csv_logs_p_at_each_epochs_end(tmp_path):
    ada = Ada(0.6, 500)
    for model, expected in ((SimpleNamespace(ada=ada), "0.25"), (SimpleNamespace(ada=None), "")):
        callback = MetricsCSV(tmp_path)
        callback.set_model(model)
        callback.on_train_begin()
        callback.on_epoch_begin(0)
        ada.p.assign(0.25)
        callback.on_epoch_end(0, {})
        callback.on_train_end()
        with open(tmp_path / "metrics.csv", newline="") as f:
            assert [row["ada_p"] for row in csv.DictReader(f)] == [expected]


def test_ada_target_must_be_inside_0_1_and_needs_diffaugment(reg):
    for target in (0.0, 1.0, 1.5):
        with pytest.raises(GanlabError, match=r"training.ada_target: must be in \(0, 1\)"):
            tiny(reg, diffaugment="cutout", ada_target=target)
    with pytest.raises(GanlabError, match="training.ada_target: needs training.diffaugment"):
        tiny(reg, ada_target=0.6)
