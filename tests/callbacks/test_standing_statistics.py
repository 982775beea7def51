"""Standing batch-norm statistics for the EMA generator: the exact average of its own batch
statistics, layer momenta left as they were, and what a run saves."""

import numpy as np
import pytest

from tests.helpers import tiny


def two_norm_generator(conditional=False):
    """z -> Dense -> BN -> ReLU -> Dense -> BN, nested in an outer model (as the conditional builders do)."""
    import keras

    z = keras.Input((4,))
    x = keras.layers.Dense(6)(z)
    x = keras.layers.BatchNormalization(momentum=0.8)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Dense(5)(x)
    inner = keras.Model(z, keras.layers.BatchNormalization(momentum=0.9)(x))
    if not conditional:
        return inner
    label = keras.Input((), dtype="int32")
    shifted = keras.layers.Add()([z, keras.layers.Embedding(3, 4)(label)])
    return keras.Model([z, label], inner(shifted))


@pytest.mark.parametrize("conditional", [False, True])
def test_statistics_are_the_mean_of_the_batch_statistics_in_training_mode(conditional):
    import keras

    from ganlab.callbacks.standing_statistics import StandingStatistics
    from ganlab.training.layers import batch_norms, leaf_layers

    keras.utils.set_random_seed(0)
    generator = two_norm_generator(conditional)
    norms = batch_norms(generator)
    assert len(norms) == 2
    rng = np.random.default_rng(1)
    z = rng.normal(2.0, 3.0, (40, 4)).astype(np.float32)
    labels = np.arange(40, dtype=np.int32) % 3 if conditional else None

    # Expected, in numpy: each batch of 8 in training mode (each BN normalises by its batch), then the plain mean.
    dense = [layer for layer in leaf_layers(generator) if isinstance(layer, keras.layers.Dense)]
    (w1, b1), (w2, b2) = ([np.asarray(v, np.float64) for v in layer.weights] for layer in dense)
    gamma, beta = (np.asarray(v, np.float64) for v in (norms[0].gamma, norms[0].beta))
    x = z.astype(np.float64)
    if conditional:
        x = x + np.asarray(generator.get_layer(index=2).embeddings, np.float64)[labels]
    per_batch = []
    for i in range(0, 40, 8):
        h1 = x[i : i + 8] @ w1 + b1
        normed = (h1 - h1.mean(axis=0)) / np.sqrt(h1.var(axis=0) + norms[0].epsilon) * gamma + beta
        per_batch.append([h1, np.maximum(normed, 0.0) @ w2 + b2])

    StandingStatistics(generator, z, 8, labels).on_epoch_end(0)
    for k, norm in enumerate(norms):
        expected_mean = np.mean([batch[k].mean(axis=0) for batch in per_batch], axis=0)
        expected_var = np.mean([batch[k].var(axis=0) for batch in per_batch], axis=0)
        np.testing.assert_allclose(np.asarray(norm.moving_mean), expected_mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(norm.moving_variance), expected_var, rtol=1e-4, atol=1e-5)
    assert [norm.momentum for norm in norms] == [0.8, 0.9]


def test_a_second_epoch_gives_the_same_statistics_and_a_generator_without_batch_norm_is_left_alone():
    import keras

    from ganlab.callbacks.standing_statistics import StandingStatistics

    keras.utils.set_random_seed(0)
    generator = two_norm_generator()
    z = np.random.default_rng(2).normal(size=(32, 4)).astype(np.float32)
    standing = StandingStatistics(generator, z, 16)
    standing.on_epoch_end(0)
    first = [np.array(v) for v in generator.non_trainable_variables]
    standing.on_epoch_end(1)
    for before, after in zip(first, generator.non_trainable_variables):
        np.testing.assert_allclose(np.asarray(after), before, rtol=1e-6)

    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    StandingStatistics(plain, z, 16).on_epoch_end(0)  # nothing to set, nothing traced


def test_saved_ema_generator_carries_its_own_statistics_and_the_raw_one_gs(reg, tmp_path):  # noqa: F811
    import keras

    from ganlab.callbacks.standing_statistics import sample_count
    from ganlab.rundir import RunDir, load_generator
    from ganlab.sampling import fixed_z
    from ganlab.training.layers import batch_norms
    from ganlab.training.run import train

    run_dir = train(tiny(reg, epochs=2, ema=0.9), out=tmp_path / "run")
    files = RunDir(run_dir)
    ema, raw = (load_generator(path) for path in (files.generator, files.generator_raw))
    # The statistics differ from G's, and the EMA generator's first ones are the mean of
    # its own first layer over the run's fixed z (seed + 2), whatever the batches.
    ema_norms, raw_norms = batch_norms(ema), batch_norms(raw)
    assert len(ema_norms) == len(raw_norms) == 2
    assert not np.allclose(np.asarray(ema_norms[0].moving_variance), np.asarray(raw_norms[0].moving_variance))
    z = fixed_z(8, sample_count(32), "normal", 0 + 2)
    first = keras.Model(ema.input, ema_norms[0].input)(z, training=True)
    np.testing.assert_allclose(
        np.asarray(ema_norms[0].moving_mean), np.asarray(first).mean(axis=0), rtol=1e-4, atol=1e-6
    )
