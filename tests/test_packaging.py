"""What a non-editable install ships: every package folder of ganlab is listed in pyproject.toml."""

import pytest

from tests.conftest import ROOT


def test_every_subpackage_is_installed():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "ganlab").rglob("__init__.py")
    }
    assert folders <= listed, f"add {sorted(folders - listed)} to [tool.setuptools] packages in pyproject.toml"
    assert "ganlab_plugins" in listed
