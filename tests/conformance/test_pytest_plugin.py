"""ganlab's pytest plugin as a plugin author's suite meets it: failures are tests that fail, with the reason."""

import os
import subprocess
import sys
import textwrap
from xml.etree import ElementTree

from ganlab.components.loading import load_registry
from ganlab.conformance.pytest_plugin import contract_cases
from tests.conftest import ROOT
from tests.helpers import fake_distribution

SUITE = """
    import pytest


    @pytest.mark.ganlab_plugin("nope")
    def test_unknown(ganlab_contract):
        ganlab_contract.check()


    @pytest.mark.ganlab_plugin("ganlab-broken")
    def test_broken(ganlab_contract):
        ganlab_contract.check()


    @pytest.mark.ganlab_plugin("mlp")
    def test_bad_params(ganlab_contract):
        ganlab_contract.check(params={"generator.mlp.hiden": [8]})
"""


def pytest_run(folder, env_path):
    env = {**os.environ, "PYTHONPATH": f"{env_path}:{ROOT}"}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(folder)]
    command += ["--junitxml", str(folder / "report.xml"), str(folder)]
    return subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env, timeout=300)


def failures(report):
    """{test id: failure message} from a JUnit XML report."""
    cases = ElementTree.parse(report).getroot().iter("testcase")
    return {case.get("name"): case.find("failure").get("message") for case in cases if case.find("failure") is not None}


def test_unknown_and_broken_plugins_and_bad_params_fail_with_the_reason(tmp_path):
    (tmp_path / "site").mkdir()
    site = fake_distribution(
        tmp_path / "site", "ganlab_broken", "raise ImportError('needs torch')\n", {"broken": "ganlab_broken"}
    )
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_contract.py").write_text(textwrap.dedent(SUITE))
    result = pytest_run(suite, site)
    assert result.returncode == 1, result.stdout
    plugins = ", ".join(sorted(["broken", *(p.name for p in load_registry().plugins)]))
    params = (
        "ganlab_contract.check(params=...): generator.mlp.hiden: generator 'mlp' has no parameter 'hiden' — "
        "did you mean 'hidden'? (parameters: hidden, leaky_slope, batch_norm, bn_momentum, dropout, output_activation)"
    )
    assert failures(suite / "report.xml") == {
        "test_unknown[nope-unusable]": (
            "Failed: @pytest.mark.ganlab_plugin('nope'): no plugin or distribution 'nope' is installed "
            f"(plugins: {plugins}; see ganlab list)"
        ),
        "test_broken[broken-loads]": "Failed: FAIL  plugin broken: loads: ImportError: needs torch",
        "test_bad_params[generator-mlp:mlp]": f"Failed: {params}",
        "test_bad_params[discriminator-mlp:mlp]": f"Failed: {params}",
    }
    header = [line for line in result.stdout.splitlines() if line.startswith("ganlab 0.1.0: plugins ")]
    assert len(header) == 1 and header[0].endswith("; failed to load: broken")


def test_a_test_without_the_marker_fails_alone_without_a_traceback(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x(ganlab_contract):\n    pass\n\n\ndef test_y():\n    pass\n")
    result = pytest_run(tmp_path, tmp_path)
    assert result.returncode == 1
    assert failures(tmp_path / "report.xml") == {}  # an error at setup, not a failure, and the session went on
    assert "1 passed, 1 error" in result.stdout
    message = (
        "test_x.py::test_x: a test taking 'ganlab_contract' needs @pytest.mark.ganlab_plugin(NAME), "
        "NAME a plugin or distribution as ganlab list shows it"
    )
    assert message in result.stdout
    assert "Traceback" not in result.stdout + result.stderr and "pluggy/" not in result.stdout + result.stderr


ZOO = """
    from ganlab import hookimpl
    from tests.toy_plugins import dense_generator


    @hookimpl
    def register_generators(register):
        register('ring', dense_generator)
"""


def test_a_misspelled_plugin_name_gets_did_you_mean(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(fake_distribution(tmp_path, "ganlab_zoo", ZOO, {"zoo": "ganlab_zoo"})))
    [case] = contract_cases("zooo")
    assert case.failure.startswith(
        "@pytest.mark.ganlab_plugin('zooo'): no plugin or distribution 'zooo' is installed — did you mean 'zoo'? "
    )
    assert [case.id for case in contract_cases("zoo")] == ["generator-zoo:ring"]
