"""output.keep_best and training.early_stop in real (tiny) runs, with a scripted quality metric:
the best generator is the one of the best check, early stopping stops at the stated patience,
and a resume from a mid-run checkpoint continues with the best and the patience count of then."""

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.callbacks.metrics_csv import read_rows
from ganlab.recipe.validate import validate
from ganlab.rundir import RunDir, load_generator, read_best
from ganlab.sampling import generators
from ganlab.training import checkpoint
from tests.helpers import final_state, tiny


class Script:
    """Stands in for ``Judge``: each quick check's FID is the next value of ``fids``, counted across
    the judges of one test (a resumed run's judge continues where the first run's stopped)."""

    def __init__(self, fids):
        self.fids, self.calls = list(fids), 0

    def __call__(self, data, dataset_name, extractor="auto", options=None, log=print):
        script = self

        class Judge:
            available, data_classes = 100, None

            def quick_baseline(self, n):
                return {"fid": 0.5, "kid_mean": 0.0}

            def quick_row(self, images):
                script.calls += 1
                return {"fid": script.fids[script.calls - 1], "kid_mean": 0.1}

        return Judge()


@pytest.fixture
def script(monkeypatch):
    def use(fids):
        judges = Script(fids)
        monkeypatch.setattr("ganlab.training.run.Judge", judges)
        return judges

    return use


def recipe(reg, epochs, keep_best="fid", eval_every=1, early_stop=None, **training):
    base = tiny(reg, epochs=epochs, jit_compile=False, **training).data
    output = {**base["output"], "eval_every": eval_every, "keep_best": keep_best, "sample_every": 4}
    training = {**base["training"], "early_stop": early_stop}
    return validate({**base, "training": training, "output": output}, reg, source="best.yaml")


def weights(path):
    """A saved generator's float variables (a .keras file does not keep the dropout seeds' state)."""
    return floats(np.asarray(v.numpy()) for v in load_generator(path).variables)


def checkpoint_group(run_dir, epoch, group):
    with np.load(RunDir(run_dir).checkpoints / f"epoch_{epoch:04d}.npz") as f:
        return floats(f[k] for k in sorted(k for k in f.files if k.startswith(group + "/")))


def floats(arrays):
    return [a for a in arrays if a.dtype.kind == "f"]


def test_the_best_generator_is_the_one_of_the_best_check(reg, tmp_path, script):
    """FID falls, then rises: generator_best.keras is the averaged G of the best epoch, not the last."""
    from ganlab.training.run import train

    script([5.0, 4.0, 3.0, 2.0, 6.0])
    run_dir = train(recipe(reg, 5, ema=0.9), out=tmp_path / "run")
    files = RunDir(run_dir)
    rows = read_rows(files.metrics)
    steps = [int(row["step"]) for row in rows]
    assert read_best(run_dir) == {"metric": "fid", "key": "fid", "value": 2.0, "epoch": 4, "step": steps[3]}
    assert [float(row["best_value"]) for row in rows] == [5.0, 4.0, 3.0, 2.0, 2.0]
    assert [int(row["best_step"]) for row in rows] == steps[:4] + steps[3:4]
    best = weights(files.generator_best)
    at_4, at_5 = checkpoint_group(run_dir, 4, "ema_generator"), checkpoint_group(run_dir, 5, "ema_generator")
    assert len(best) == len(at_4) and all(np.array_equal(a, b) for a, b in zip(best, at_4))
    assert not all(np.array_equal(a, b) for a, b in zip(best, at_5))
    assert all(np.array_equal(a, b) for a, b in zip(weights(files.generator), at_5))
    assert files.quality.is_file() and files.losses.is_file()
    assert set(generators(run_dir)) == {"generator", "generator_raw", "generator_best"}


def test_early_stop_at_the_patience_and_a_resume_keeps_the_best_and_the_count(reg, tmp_path, script, monkeypatch,
                                                                               capsys):
    """FID 5, 3, 4, 4.5, 6, 1, ...: the third check without improvement (epoch 5) stops the run. Trained to epoch
    4 (best at 2, two checks without improvement) and resumed to 8, it stops there too, with the same files and
    checkpoint; an early-stopped run resumes only with more patience."""
    from ganlab.training.run import resume, train

    for module in ("loss_plot.plot_losses", "quality_plot.plot_quality"):  # tested on their own; slow here
        monkeypatch.setattr(f"ganlab.callbacks.{module}", lambda *args, **kwargs: None)
    fids = [5.0, 3.0, 4.0, 4.5, 6.0, 1.0, 1.0, 1.0]
    judges = script(fids)
    straight = train(recipe(reg, 8, early_stop=3), out=tmp_path / "straight")
    out = capsys.readouterr().out
    assert "ganlab: early stop after epoch 5: fid has not improved on 3 quality checks in a row" in out
    assert "generator_best.keras is the best, fid 3.000 at epoch 2" in out
    assert judges.calls == 5 and len(read_rows(RunDir(straight).metrics)) == 5
    assert final_state(straight)[0]["epoch"] == 5 and RunDir(straight).generator.is_file()
    assert read_best(straight)["epoch"] == 2
    assert [epoch for epoch, _ in RunDir(straight).sample_grids()] == [4, 5]  # the stop draws a last grid

    script(fids)
    run_dir = train(recipe(reg, 4, early_stop=3), out=tmp_path / "run")
    record, _ = checkpoint.read_best(checkpoint.latest(run_dir)[0])
    assert record == {"value": 3.0, "epoch": 2, "step": read_best(run_dir)["step"], "since": 2}
    resume(run_dir, reg, ["training.epochs=8"])
    assert final_state(run_dir)[0]["epoch"] == 5 and read_best(run_dir) == read_best(straight)
    best, expected_best = (weights(RunDir(d).generator_best) for d in (run_dir, straight))
    assert all(np.array_equal(a, b) for a, b in zip(best, expected_best))
    (_, resumed), (_, expected) = final_state(run_dir), final_state(straight)
    assert set(resumed) == set(expected) and any(k.startswith("best_generator/") for k in expected)
    assert all(np.array_equal(resumed[k], expected[k]) for k in expected)

    with pytest.raises(GanlabError, match=r"stopped early at epoch 5: fid had not improved on 3 quality checks; "
                                          r"raise training.early_stop"):
        resume(straight, reg)
    judges = script(fids[5:])
    resume(straight, reg, ["training.early_stop=4"])  # epoch 6 improves; 7 and 8 do not: 2 < 4
    assert judges.calls == 3 and final_state(straight)[0]["epoch"] == 8 and read_best(straight)["epoch"] == 6


@pytest.mark.parametrize(
    "output, training, message",
    [
        ({"keep_best": "fid"}, {}, "output.keep_best: needs output.eval_every > 0"),
        ({"eval_every": 1}, {"early_stop": 2}, "training.early_stop: needs output.keep_best"),
        ({"eval_every": 1, "keep_best": "score", "extractor": "ssl"}, {}, "score needs class probabilities"),
    ],
)
def test_a_key_without_the_key_it_needs_is_one_line(reg, output, training, message):
    base = tiny(reg).data
    with pytest.raises(GanlabError) as raised:
        validate(
            {**base, "training": {**base["training"], **training}, "output": {**base["output"], **output}},
            reg,
            source="r.yaml",
        )
    assert message in str(raised.value) and "\n" not in str(raised.value)
