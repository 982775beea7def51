"""The contract check that D stays frozen in G's step: it catches keras.layers.SpectralNormalization,
passes ganlab's SpectralNorm, and lets batch-norm statistics and dropout seeds move (said in its line)."""

import keras

from ganlab.components.component import Component
from ganlab.conformance import runner
from ganlab.training.layers import HashDropout
from ganlab.training.spectral_norm import SpectralNorm


def frozen_check(wrap=lambda layer: layer, extra=()):
    """The 'frozen in g step' result of a small conv D whose Conv2D and Dense go through ``wrap``."""

    def build(image_shape: tuple):
        images = keras.Input(image_shape)
        x = wrap(keras.layers.Conv2D(4, 3, strides=2, padding="same"))(images)
        for layer in extra:
            x = layer()(x)
        x = keras.layers.Flatten()(keras.layers.LeakyReLU(0.2)(x))
        return keras.Model(images, wrap(keras.layers.Dense(1))(x))

    results = runner.ComponentCheck(Component("discriminator", "x", build, "bad"), {}, (8, 8, 1), 4).run()
    assert [r.check for r in results if not r.ok] in ([], ["frozen in g step"]), [r.line() for r in results]
    return next(r for r in results if r.check == "frozen in g step")


def test_keras_spectral_normalization_changes_d_in_gs_step():
    result = frozen_check(keras.layers.SpectralNormalization)
    assert not result.ok and result.detail.startswith(
        "eagerly: a G step (D in training mode, G's gradients applied) changes D's spectral_normalization"
    ), result.detail
    assert "/kernel" in result.detail and "/vector_u" in result.detail
    assert result.detail.endswith("does: use ganlab.training.spectral_norm.SpectralNorm)")


def test_spectral_norm_passes_and_moving_statistics_are_named():
    result = frozen_check(SpectralNorm, extra=[lambda: HashDropout(0.5)])  # the dropout's seed state may move
    assert result.ok and result.detail == "D's 7 variables stay unchanged in a G step, eagerly and under XLA"
    result = frozen_check(extra=[keras.layers.BatchNormalization])
    assert result.ok and result.detail.endswith(
        "its BatchNormalization moving statistics move (D uses them in inference mode only)"
    )
