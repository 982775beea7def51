"""Engine options from the literature: instance noise (annealed), and how a run uses them."""

import numpy as np
import pytest

from ganlab import GanlabError
from tests.test_run import final_state, reg, tiny  # noqa: F401  (reg is a fixture)


def test_instance_noise_is_annealed_to_zero(reg):  # noqa: F811
    from ganlab.run import build_model

    model = build_model(tiny(reg, instance_noise=0.5), (8, 8, 1), total_steps=10)
    images = np.zeros((4000, 8, 8, 1), np.float32)
    for step, std in ((0, 0.5), (5, 0.25), (10, 0.0), (12, 0.0)):
        model.g_optimizer.iterations.assign(step)
        noisy = np.asarray(model._with_instance_noise(images))
        assert noisy.std() == pytest.approx(std, abs=0.005), step
    off = build_model(tiny(reg), (8, 8, 1), total_steps=10)
    assert off._with_instance_noise(images) is images


def test_a_run_with_instance_noise_differs_only_by_it(reg, tmp_path):  # noqa: F811
    from ganlab.run import train

    _, plain = final_state(train(tiny(reg, epochs=1), out=tmp_path / "plain"))
    meta, noisy = final_state(train(tiny(reg, epochs=1, instance_noise=0.3), out=tmp_path / "noisy"))
    assert meta["step"] == 4 and not np.array_equal(plain["discriminator/00000"], noisy["discriminator/00000"])
    with pytest.raises(GanlabError, match="instance_noise"):
        tiny(reg, instance_noise=-1.0)
