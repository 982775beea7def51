"""The in-memory input pipeline: real images, scaled to G's output range, in a stream
whose order depends only on (seed, step).

Each train step takes ``batch_size * d_steps`` images. Epoch e visits the images in a
permutation drawn from the stateless seed ``(seed, e)``, so the batch at any global step
is known without replaying earlier steps: resuming at step s yields exactly the batches
an uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np

from ganlab.errors import GanlabError


def steps_per_epoch(num_images, images_per_step, dataset="dataset") -> int:
    steps = num_images // images_per_step
    if steps < 1:
        raise GanlabError(
            f"{dataset} has {num_images} images, fewer than one train step needs "
            f"(training.batch_size x training.d_steps = {images_per_step}): lower training.batch_size"
        )
    return steps


def scale_images(images_uint8, output_range):
    """uint8 0..255 -> float32 in ``output_range`` (low, high)."""
    import tensorflow as tf

    low, high = output_range
    return tf.cast(images_uint8, tf.float32) * ((high - low) / 255.0) + low


def real_stream(images, images_per_step, seed, output_range, start_step=0):
    """An endless ``tf.data`` stream of ``images_per_step``-image batches from ``start_step`` on."""
    import tensorflow as tf

    images = np.asarray(images)
    n = len(images)
    spe = steps_per_epoch(n, images_per_step)
    pixels = tf.constant(images)

    def epoch_batches(epoch):
        order = tf.argsort(tf.random.stateless_uniform([n], seed=tf.stack([tf.cast(seed, tf.int64), epoch])))
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order[: spe * images_per_step], (spe, images_per_step)))

    stream = (
        tf.data.Dataset.range(start_step // spe, np.iinfo(np.int64).max)
        .flat_map(epoch_batches)
        .skip(start_step % spe)
        .map(lambda idx: scale_images(tf.gather(pixels, idx), output_range), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return stream
