"""The input pipeline: real images (held in memory, or decoded from their files as they
stream), scaled to G's output range, in a stream whose order depends only on (seed, step).

Each train step takes ``batch_size * d_steps`` images. Epoch e visits the images in a
permutation drawn from the stateless seed ``(seed, e)``, so the batch at any global step
is known without replaying earlier steps: resuming at step s yields exactly the batches
an uninterrupted run would have seen.

TensorFlow is imported by the functions that build the stream; ``steps_per_epoch``,
``epoch_steps`` and ``hold_out`` need only NumPy.
"""

from __future__ import annotations

import numpy as np

from ganlab.components.interfaces import ImageFiles
from ganlab.errors import GanlabError


def steps_per_epoch(num_images, images_per_step, dataset="dataset") -> int:
    steps = num_images // images_per_step
    if steps < 1:
        raise GanlabError(
            f"{dataset} has {num_images} images, fewer than one train step needs "
            f"(training.batch_size x training.d_steps = {images_per_step}): lower training.batch_size"
        )
    return steps


def held_out_count(num_images, fraction) -> int:
    """How many of ``num_images`` images ``hold_out`` holds out for ``training.d_validation`` (0: none)."""
    return max(1, round(num_images * fraction)) if fraction else 0


def epoch_steps(training, num_images, dataset="dataset") -> int:
    """The steps of one epoch over a dataset of ``num_images`` images under ``training``, before
    the epoch is cut to whole executions: batches of what the D-validation hold-out leaves, at
    most ``training.steps``."""
    left = num_images - held_out_count(num_images, training["d_validation"])
    steps = steps_per_epoch(left, training["batch_size"] * training["d_steps"], dataset)
    return steps if training["steps"] is None else min(steps, training["steps"])


def scale_images(images_uint8, output_range):
    """uint8 0..255 -> float32 in ``output_range`` (low, high)."""
    import tensorflow as tf

    low, high = output_range
    return tf.cast(images_uint8, tf.float32) * ((high - low) / 255.0) + low


def hold_out(images, fraction, seed):
    """(training part, held-out part) of ``images``: a seeded random ``fraction`` is held out.

    Both parts keep the dataset's order, and the same seed holds out the same images, so
    a resumed run trains on exactly the images it trained on before.
    """
    n = len(images)
    held = np.sort(np.random.default_rng(seed).permutation(n)[: held_out_count(n, fraction)])
    return _subset(images, np.setdiff1d(np.arange(n), held)), _subset(images, held)


def _subset(images, indices):
    if isinstance(images, ImageFiles):
        return ImageFiles([images.paths[i] for i in indices], images.shape[1:], images.decode)
    return np.asarray(images)[indices]


def real_stream(images, images_per_step, seed, output_range, start_step=0, d_steps=1, replicas=1, labels=None):
    """An endless ``tf.data`` stream of ``images_per_step``-image batches from ``start_step`` on.

    With ``labels`` (integers, one per image: a conditional GAN) each element is a pair
    ``(images, labels)``, the labels int32 and in the images' order.

    A ``tf.distribute`` strategy gives each of its ``replicas`` a contiguous share of a
    batch, and each replica cuts its share into ``d_steps`` slices, one per D step. So
    that D step i sees, over all replicas, the same images as D step i on one device,
    each batch is laid out replica by replica: [step 0 share 0, step 1 share 0, ...,
    step 0 share 1, ...]. With one replica the layout is the plain order.
    """
    import tensorflow as tf

    n = len(images)
    spe = steps_per_epoch(n, images_per_step)

    def epoch_batches(epoch):
        order = tf.argsort(tf.random.stateless_uniform([n], seed=tf.stack([tf.cast(seed, tf.int64), epoch])))
        shares = tf.reshape(order[: spe * images_per_step], (spe, d_steps, replicas, -1))
        batches = tf.reshape(tf.transpose(shares, (0, 2, 1, 3)), (spe, images_per_step))
        return tf.data.Dataset.from_tensor_slices(batches)

    epochs = tf.data.Dataset.range(start_step // spe, np.iinfo(np.int64).max)
    indices = epochs.flat_map(epoch_batches).skip(start_step % spe)
    stream = indices.apply(_image_batches(images, images_per_step, output_range))
    if labels is not None:
        # A second pass over the same (seed, step) indices: the i-th label batch belongs
        # to the i-th image batch, however the images are gathered or decoded.
        values = tf.constant(np.asarray(labels, np.int32))
        stream = tf.data.Dataset.zip((stream, indices.map(lambda idx: tf.gather(values, idx))))
    stream = stream.prefetch(tf.data.AUTOTUNE)
    # Every worker of a multi-worker run builds this same stream and keeps its share of
    # each batch: sharding by file would lose the (seed, step) order.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return stream.with_options(options)


def _image_batches(images, images_per_step, output_range):
    """A ``tf.data`` transformation from batches of image indices to scaled image batches.

    An in-memory array is gathered from; an :class:`ImageFiles` is decoded file by file
    as the stream runs (in parallel, in order), so it never has to fit in memory.
    """
    import tensorflow as tf

    if isinstance(images, ImageFiles):
        paths = tf.constant(images.paths)
        return lambda batches: (
            batches.map(lambda idx: tf.gather(paths, idx))
            .unbatch()
            .map(images.decode, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(images_per_step, drop_remainder=True)
            .map(lambda batch: scale_images(batch, output_range), num_parallel_calls=tf.data.AUTOTUNE)
        )
    pixels = tf.constant(np.asarray(images))
    return lambda batches: batches.map(
        lambda idx: scale_images(tf.gather(pixels, idx), output_range), num_parallel_calls=tf.data.AUTOTUNE
    )
