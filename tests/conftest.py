import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganlab.components.loading import load_registry
from tests import toy_plugins
from tests.helpers import UNREACHABLE

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run ``python -m ganlab ARGS`` in a fresh process, as a user would."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ganlab", *map(str, args)],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def mnist_dir():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test split not found in {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(scope="module")
def reg():
    return load_registry(plugins=[("toolkit", toy_plugins.Toolkit())])


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """No test sees the real home, cache or network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANLAB_DATA", raising=False)
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("GANLAB_MNIST_MIRROR", UNREACHABLE)
