"""A run directory written before the layout change (tests/data/legacy_run, made by ganlab
at commit b3bdc35 with EMA, InfoGAN modes, instance noise and HashDropout) still resumes
to the weights that version reached, and its generator.keras still loads and draws the same
images."""

import shutil

import numpy as np

DATA = __import__("pathlib").Path(__file__).parents[1] / "data"


def test_a_run_written_before_the_layout_change_resumes_to_the_same_weights(tmp_path):
    from ganlab.components.loading import load_registry
    from ganlab.training.run import resume
    from tests import toy_plugins
    from tests.helpers import final_state

    run_dir = tmp_path / "legacy_run"
    shutil.copytree(DATA / "legacy_run", run_dir)
    resume(run_dir, load_registry(plugins=[("toolkit", toy_plugins.Toolkit())]))
    meta, state = final_state(run_dir)
    assert meta == {"epoch": 2, "step": 4, "format": 1}
    with np.load(DATA / "legacy_expected.npz") as expected:
        stored = {k: expected[k] for k in expected.files if k not in ("samples", "z")}
    assert state.keys() == stored.keys()
    # Same numbers up to float rounding: another CPU may order XLA's sums differently.
    assert all(np.allclose(state[k], stored[k], rtol=1e-4, atol=1e-5) for k in stored)


def test_a_generator_saved_before_the_layout_change_loads_and_draws_the_same_images():
    from ganlab.rundir import load_generator

    generator = load_generator(DATA / "legacy_run" / "generator.keras")
    with np.load(DATA / "legacy_expected.npz") as expected:
        drawn = np.asarray(generator(expected["z"], training=False))
        np.testing.assert_allclose(drawn, expected["samples"], rtol=1e-5, atol=1e-6)
