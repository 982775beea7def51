"""The Python API as a notebook uses it: train, reload in a fresh process, sample, truncate,
walk; recipes as dicts and YAML text; bad input as one line, also through the command line."""

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ganlab
from ganlab import GanlabError
from tests.conftest import ROOT
from tests.helpers import write_npz

RECIPE = {
    "data": {"name": "arrays", "path": None},  # filled in by the fixture
    "generator": {"name": "mlp", "hidden": [16]},
    "discriminator": {"name": "mlp", "hidden": [16]},
    "loss": "bce",
    "training": {"epochs": 1, "batch_size": 32, "latent_dim": 8, "steps_per_execution": 4, "jit_compile": False},
    "output": {"grid": 2},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_npz(tmp_path_factory.mktemp("api") / "images.npz", n=128, shape=(8, 8))


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    recipe = {**RECIPE, "data": {"name": "arrays", "path": str(data)}}
    return ganlab.train(recipe, ["training.epochs=2", "training.seed=3"], out=tmp_path_factory.mktemp("api") / "run")


def cli(*args) -> int:
    """``ganlab ARGS`` in this process (the run is loaded already): its exit status."""
    from ganlab.cli import main

    try:
        return main([str(a) for a in args])
    except SystemExit as exc:  # argparse's refusals
        return exc.code


def test_train_returns_the_run_with_its_recipe_metrics_and_generator(run):
    assert isinstance(run, ganlab.Run) and (run.path / "generator.keras").is_file()
    assert run.recipe["training"]["epochs"] == 2 and run.recipe["training"]["seed"] == 3  # the overrides
    assert run.recipe["provenance"]["output_range"] == [-1.0, 1.0]
    assert [row["epoch"] for row in run.metrics] == [1, 2] and [row["step"] for row in run.metrics] == [4, 8]
    assert all(np.isfinite(row["d_loss"]) and np.isnan(row["fid"]) for row in run.metrics)
    assert run.generator.output_shape == (None, 8, 8, 1)


def test_a_fresh_process_reloads_the_run_and_draws_the_same_images(run, tmp_path):
    """The notebook check: load_run in a new process; one seed twice gives the same images (and the
    ones this process draws), truncation 0 one image for every z, a walk passes through the samples."""
    drawn = tmp_path / "drawn.npz"
    code = textwrap.dedent(f"""
        import numpy as np, ganlab
        run = ganlab.load_run({str(run.path)!r})
        np.savez({str(drawn)!r}, a=run.sample(6, seed=5), b=run.sample(6, seed=5), c=run.sample(6, seed=6),
                 mean=run.sample(6, seed=5, truncation=0.0), walk=run.interpolate(points=3, frames=4, seed=5),
                 keys=run.sample(3, seed=5))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with np.load(drawn) as f:
        a, b, c, mean, walk, keys = (f[k] for k in ("a", "b", "c", "mean", "walk", "keys"))
    assert a.shape == (6, 8, 8, 1) and a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, run.sample(6, seed=5))  # and the same as here
    assert not np.allclose(a, c) and np.ptp(a, axis=0).max() > 1e-3
    np.testing.assert_array_equal(mean, np.repeat(mean[:1], 6, axis=0))  # every z is the mean z
    assert not np.allclose(mean[0], a[0])
    assert walk.shape == (12, 8, 8, 1)
    np.testing.assert_allclose(walk[::4], keys, atol=1e-6)  # frame k x frames is sample k
    assert not np.allclose(walk[1], keys[0])


def test_truncation_moves_images_towards_the_mean_image(run):
    full, half, mean = (run.sample(32, seed=1, truncation=psi) for psi in (None, 0.5, 0.0))
    np.testing.assert_array_equal(full, run.sample(32, seed=1, truncation=1.0))
    assert np.abs(half - mean).mean() < np.abs(full - mean).mean()


def test_recipes_as_yaml_text_and_overrides_as_a_dict(data):
    from ganlab.api import read_recipe
    from ganlab.components.loading import load_registry

    text = textwrap.dedent(f"""\
        data: {{name: arrays, path: {data}}}
        generator: {{name: mlp, hidden: [16]}}
        discriminator: mlp
        loss: lsgan
        training: {{epochs: 1}}
    """)
    registry = load_registry()
    recipe = read_recipe(text, registry, {"training.epochs": 7, "training.optimizer.learning_rate": np.float32(1e-3),
                                          "generator.hidden": [4, 4]})
    assert recipe["training"]["epochs"] == 7 and tuple(recipe["generator"]["hidden"]) == (4, 4)
    assert recipe["training"]["optimizer"]["learning_rate"] == pytest.approx(1e-3) and recipe["loss"]["name"] == "lsgan"
    with pytest.raises(GanlabError, match=r"^--set training.epochs: .*found 0$"):
        read_recipe(text, registry, {"training.epochs": 0})
    with pytest.raises(GanlabError, match=r"^recipe:5: training.epochs: "):
        read_recipe(text.replace("epochs: 1", "epochs: -1"), registry)
    with pytest.raises(GanlabError, match=r"^overrides: training.epochs: a set is not a recipe value"):
        read_recipe(text, registry, {"training.epochs": {1}})


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda run: run.sample(4, truncation=1.5), r"^--truncation 1.5: psi must be a number from 0 .* to 1"),
        (lambda run: run.sample(4, truncation="0.5"), r"^--truncation 0.5: psi must be a number"),
        (lambda run: run.interpolate(output="walk.avi"), r"^-o walk.avi: write a .gif or an .mp4 animation$"),
        (lambda run: run.interpolate(points=1), r"^--points 1: a walk needs at least 2 points$"),
        (lambda run: run.sample(4, label=2), r"--label 2: .* is an unconditional run"),
        (lambda run: ganlab.load_run(run.path / "missing"), r"missing: no such run directory$"),
        (lambda run: ganlab.load_run(run.path / "samples"), r"samples: no recipe.yaml; is it a ganlab run directory"),
        (lambda run: ganlab.train(run.path / "missing.yaml"), r"missing.yaml: cannot read recipe"),
        (lambda run: ganlab.train(42), r"^recipe: expected a file path, YAML text or a dict of sections, found int$"),
    ],
)
def test_bad_input_is_one_line(run, call, message):
    with pytest.raises(GanlabError, match=message) as refused:
        call(run)
    assert len(refused.value.lines) == 1


def test_a_walk_through_a_conditional_run_needs_its_class(run, tmp_path):
    import shutil

    import yaml

    conditional = tmp_path / "conditional"
    shutil.copytree(run.path, conditional)
    stored = yaml.safe_load((conditional / "recipe.yaml").read_text())
    stored["provenance"]["num_classes"] = 3  # as a cmlp run records it
    (conditional / "recipe.yaml").write_text(yaml.safe_dump(stored))
    with pytest.raises(GanlabError, match=r"^--label: .*conditional is a conditional run: choose the class to walk "
                                          r"through with --label K \(0 to 2\)$"):
        ganlab.load_run(conditional).interpolate(output=tmp_path / "walk.gif")
    with pytest.raises(GanlabError, match=r"^--label 3: .* has classes 0 to 2$"):
        ganlab.load_run(conditional).interpolate(label=3)
    assert not (tmp_path / "walk.gif").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "{run}", "--truncation", "-0.1", "-o", "{tmp}/x.png"], "--truncation -0.1: psi must be a number"),
        (["interpolate", "{run}", "-o", "{tmp}/walk.webm"], "write a .gif or an .mp4 animation"),
        (["interpolate", "{tmp}/none", "-o", "{tmp}/walk.gif"], "none: no such run directory"),
        (["interpolate", "{run}", "--points", "1", "-o", "{tmp}/walk.gif"], "expected a whole number from 2 to"),
    ],
)
def test_bad_input_through_the_command_line_is_exit_2_and_writes_nothing(run, tmp_path, capsys, argv, message):
    assert cli(*(a.format(run=run.path, tmp=tmp_path) for a in argv)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_ganlab_interpolate_writes_a_looping_gif(run, tmp_path, capsys):
    import imageio.v3 as iio

    walk = tmp_path / "walk.gif"
    assert cli("interpolate", run.path, "-o", walk, "--points", 3, "--frames", 2, "--truncation", 0.7) == 0
    assert "wrote a walk of 6 frames through 3 points" in capsys.readouterr().out
    frames = iio.imread(walk, index=None)
    assert frames.shape[0] == 6 and frames.shape[1] >= 256 and frames.shape[1] % 8 == 0  # 8 px, enlarged
    assert len({frame.tobytes() for frame in frames}) > 1


def test_a_notebook_gets_the_progress_bar_and_a_log_one_line_per_epoch(monkeypatch):
    from ganlab.training.run import progress_verbosity

    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal, as under pytest's capture or in CI
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert progress_verbosity() == 2
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    assert progress_verbosity() == 1


def test_import_ganlab_leaves_tensorflow_out_until_the_api_is_used():
    code = (
        "import sys, ganlab\n"
        "assert callable(ganlab.train) and callable(ganlab.load_run) and 'Run' in dir(ganlab)\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr
