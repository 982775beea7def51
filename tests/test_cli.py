"""The command line as a user meets it: help, list, check, exit codes, no TensorFlow for listing."""

import json
import os
import subprocess
import sys

import pytest

from ganlab import __version__
from ganlab.cli import main
from ganlab.errors import GanlabError
from tests.conftest import ROOT, run_cli


def test_version_and_help():
    assert run_cli("--version").stdout.strip() == f"ganlab {__version__}"
    top = run_cli("--help")
    assert top.returncode == 0 and all(cmd in top.stdout for cmd in ("run", "list", "check", "sample", "eval", "bench"))
    for cmd in ("run", "list", "check", "sample", "eval", "bench"):
        result = run_cli(cmd, "--help")
        assert result.returncode == 0 and f"usage: ganlab {cmd}" in result.stdout


def test_bad_flag_is_one_line_and_exit_2():
    result = run_cli("list", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ganlab list: error: unrecognized arguments: --bogus (see 'ganlab list --help')"
    ] or (len(result.stderr.strip().splitlines()) == 1 and "--bogus" in result.stderr)


def test_list_groups_by_kind_with_source():
    out = run_cli("list").stdout
    for heading in ("generators:", "discriminators:", "losses:", "datasets:"):
        assert heading in out
    assert f"[mlp (ganlab {__version__})]" in out and f"[losses (ganlab {__version__})]" in out
    assert "failed to load" not in out


def test_list_kind_and_verbose():
    out = run_cli("list", "loss", "-v").stdout
    assert out.startswith("losses:") and "generators:" not in out
    assert "label_smoothing: float in [0, 0.5) = 0.0" in out
    assert "generator_loss: non_saturating|minimax = 'non_saturating'" in out


def test_list_json_shape():
    data = json.loads(run_cli("list", "--json").stdout)
    assert set(data) == {"components", "plugins", "failed"}
    assert set(data["components"]) == {"generator", "discriminator", "loss", "dataset"}
    mlp = next(c for c in data["components"]["generator"] if c["name"] == "mlp")
    assert set(mlp) == {"name", "kind", "summary", "plugin", "distribution", "version", "params", "conditional"}
    assert mlp["conditional"] is False
    assert next(c for c in data["components"]["generator"] if c["name"] == "cmlp")["conditional"] is True
    hidden = next(p for p in mlp["params"] if p["name"] == "hidden")
    assert hidden == {"name": "hidden", "type": "list of int >= 1", "required": False, "default": [256, 512, 1024]}
    assert {p["name"] for p in data["plugins"]} >= {"mlp", "losses", "mnist"}


def test_check_prints_the_resolved_recipe():
    result = run_cli("check", "recipes/vanilla_mnist.yaml", "--set", "training.epochs=3")
    assert result.returncode == 0, result.stderr
    assert "epochs: 3" in result.stdout and "bn_momentum: 0.8" in result.stdout and "beta_2: 0.999" in result.stdout


def test_check_errors_exit_2_one_line_each_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "recipes" / "vanilla_mnist.yaml").read_text().replace("name: bce", "name: lsgam"))
    result = run_cli("check", bad, "--set", "training.batch_size=0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "loss.name: unknown loss 'lsgam' — did you mean 'lsgan'?" in lines[0]
    assert lines[1] == "ganlab: error: --set training.batch_size: must be in [1, 65536], found 0"


def test_run_with_bad_recipe_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {name: mnist}\n")
    result = run_cli("run", bad, "--out", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv", [["list"], ["list", "--json", "-v"], ["check", "recipes/vanilla_mnist.yaml"]])
def test_list_and_check_do_not_import_tensorflow(argv):
    code = (
        "import sys, io, contextlib; from ganlab.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): rc = main({argv!r})\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules)\n"
        "print(rc, heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "0 []", result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("eval", "no/such/run"), "no/such/run: no such run directory"),
        (("eval", "--train-classifier", "no/such.yaml"), "no/such.yaml: no such run directory or recipe"),
        (("eval", "recipes"), "recipes: no recipe.yaml and generator.keras; evaluate a finished ganlab run"),
        (
            ("eval", "recipes", "--extractor", "ssl", "--resize", "legacy"),
            "--resize: only for --extractor inception; remove it or add that flag",
        ),
    ],
)
def test_eval_bad_target_is_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2 and result.stderr.strip() == f"ganlab: error: {message}"


@pytest.mark.parametrize("argv", [["check", "recipes/vanilla_mnist.yaml"], ["list", "-v"]])
def test_a_closed_output_pipe_ends_quietly_with_141(argv):
    """``ganlab check R | head -1``: the reader is gone before ganlab writes (its end of the pipe
    is closed before the process starts), so every write meets a closed pipe."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ganlab", *argv], cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["sample", "RUN", "--seed", "-1", "-o", "x.png"], "--seed"),
        (["sample", "RUN", "--seed", str(10**30), "-o", "x.png"], "--seed"),
        (["sample", "RUN", "-n", "0", "-o", "x.png"], "-n"),
        (["eval", "RUN", "-n", "-5"], "-n"),
        (["eval", "RUN", "--seed", str(2**32)], "--seed"),
        (["check-plugin", "mlp", "--latent-dim", "1e9"], "--latent-dim"),
    ],
)
def test_counts_and_seeds_outside_what_the_libraries_take_are_one_line(argv, flag, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(lines) == 1
    assert f"error: argument {flag}: expected a whole number" in lines[0] and argv[argv.index(flag) + 1] in lines[0]


def test_an_unknown_extractor_is_one_line_naming_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["eval", "RUN", "--extractor", "vgg"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(lines) == 1
    known = "(choose from 'auto', 'classifier', 'ssl', 'inception')"
    assert f"argument --extractor: invalid choice: 'vgg' {known}" in lines[0]


def test_check_plugin_refuses_an_image_shape_that_cannot_fit_before_building_anything(capsys):
    assert main(["check-plugin", "mlp", "--image-shape", "100000,100000,3"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganlab: error: --image-shape 100000,100000,3 needs about ")
    assert "GiB of memory but this machine has" in lines[0] and lines[0].endswith("lower --image-shape")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("argv", [["check", "recipes/vanilla_mnist.yaml"], ["list", "-v"]])
def test_output_that_cannot_be_written_is_one_line(argv):
    with open("/dev/full", "w") as full:  # every write: ENOSPC, as on a full disk
        result = subprocess.run(
            [sys.executable, "-m", "ganlab", *argv], cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert result.returncode == 2
    assert result.stderr == "ganlab: error: cannot write the output to standard output: No space left on device\n"


def test_a_closed_stdout_discards_the_output():
    result = subprocess.run(
        f"'{sys.executable}' -m ganlab list >&-", shell=True, cwd=ROOT, capture_output=True, text=True
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_an_error_raised_while_handling_a_closed_pipe_is_the_closed_pipe(monkeypatch, capsys):
    """run.py turns a failed write during training into "cannot write to RUN_DIR"; when that write
    was to a closed pipe (``ganlab run R | head -1``), the command ends as for any closed pipe."""

    def wraps_a_closed_pipe(args):
        try:
            raise BrokenPipeError(32, "Broken pipe")
        except OSError as exc:
            raise GanlabError(f"cannot write to runs/x: {exc.strerror}") from None

    monkeypatch.setattr("ganlab.cli.cmd_list", wraps_a_closed_pipe)
    assert main(["list"]) == 141
    assert capsys.readouterr().err == ""


def test_a_path_that_is_not_utf8_is_printed_as_its_bytes(tmp_path):
    """With a strict UTF-8 stdout (the usual en_US.UTF-8 terminal), a recipe named b"\\xfe.yaml"
    was a UnicodeEncodeError traceback; it is printed as its bytes, as ls does."""
    recipe = tmp_path / os.fsdecode(b"\xfe.yaml")
    recipe.write_text((ROOT / "recipes" / "vanilla_mnist.yaml").read_text())
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-m", "ganlab", "check", recipe], cwd=ROOT, env=env, capture_output=True)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout.startswith(b"# " + os.fsencode(recipe) + b": ok")
