"""DiffAugment (Zhao et al. 2020): differentiable augmentations of every image D sees.

D judges augmented reals and augmented fakes, in D's step and in G's step, so it cannot
memorise a small data set, and G's gradients flow back through the augmentation: the
generated images themselves are not pushed towards augmented-looking ones. The ops are
those of the paper's reference code, on images in the model's [-1, 1] range:

- ``color``: brightness ``x + (u - 0.5)``, then saturation ``(x - mean_c) * 2u + mean_c``
  (mean over the colour channels), then contrast ``(x - mean) * (u + 0.5) + mean`` (mean
  over the image), each with its own ``u ~ U(0, 1)`` per image. Colour channels are all
  of them, except that the last of 2 or 4 channels is alpha and left alone; saturation
  needs at least 2 colour channels and is the identity on a grayscale image.
- ``translation``: a shift by whole pixels, up to 1/8 of the height and of the width
  (rounded) in each direction, drawn per image; uncovered pixels are 0.
- ``cutout``: a square of half the height by half the width (rounded) set to 0, centred
  at a pixel drawn per image; near a border only the part inside the image is cut.

``augment`` applies a policy's ops in ``DIFFAUGMENT_POLICIES``' order. With ADA
(``view.augment_p`` set) each op applies to each image with probability p, else always.
Every op draws a (batch, n + 1) row of U(0, 1) numbers from the run's noise seed through
``ganlab.training.replicas.share``, the last column for ADA's coin: replicas and resumed
runs draw what one uninterrupted device draws. Everything is elementwise or a gather, in
the images' dtype, so it compiles with XLA and runs in bfloat16.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from ganlab.training import replicas

#: Translation's largest shift and cutout's side, as fractions of the image's size (the paper's).
SHIFT = 0.125
CUT = 0.5


def _split_alpha(x):
    """(colour channels, alpha channel or an empty slice): the last of 2 or 4 channels is alpha."""
    channels = x.shape[-1]
    colour = channels - 1 if channels in (2, 4) else channels
    return x[..., :colour], x[..., colour:]


def _on_colour(change):
    """``change`` applied to the colour channels only."""

    def op(x, u):
        colour, alpha = _split_alpha(x)
        return tf.concat([change(colour, u), alpha], axis=-1)

    return op


def _per_image(u, dtype):
    """A column of draws shaped to broadcast over (batch, height, width, channels)."""
    return tf.cast(tf.reshape(u, (-1, 1, 1, 1)), dtype)


@_on_colour
def brightness(x, u):
    return x + (_per_image(u[:, 0], x.dtype) - 0.5)


@_on_colour
def saturation(x, u):
    if x.shape[-1] < 2:
        return x
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    return (x - mean) * (_per_image(u[:, 0], x.dtype) * 2) + mean


@_on_colour
def contrast(x, u):
    mean = tf.reduce_mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (_per_image(u[:, 0], x.dtype) + 0.5) + mean


def _whole(u, n):
    """Integers 0..n-1, one per draw in [0, 1)."""
    return tf.minimum(tf.cast(tf.floor(u * n), tf.int32), n - 1)


def shifts(size: int, u):
    """Translation's shift along an axis of ``size`` pixels: integers in [-s, s], s = round(size / 8)."""
    s = int(size * SHIFT + 0.5)
    return _whole(u, 2 * s + 1) - s


def _shift_axis(x, shift, axis):
    """``x`` moved by ``shift[b]`` pixels along ``axis`` (1: rows, 2: columns), zeros filling in."""
    size = x.shape[axis]
    padding = [[0, 0]] * 4
    padding[axis] = [1, 1]
    padded = tf.pad(x, padding)  # a zero row (column) on each side; clipped indices land on it
    source = tf.range(size)[None, :] - shift[:, None] + 1
    return tf.gather(padded, tf.clip_by_value(source, 0, size + 1), axis=axis, batch_dims=1)


def translation(x, u):
    x = _shift_axis(x, shifts(x.shape[1], u[:, 0]), axis=1)
    return _shift_axis(x, shifts(x.shape[2], u[:, 1]), axis=2)


def cut_box(size: int, u):
    """Cutout's first row (column) along an axis of ``size`` pixels, and its side, round(size / 2).

    The centre is drawn from 0..size (0..size-1 for an odd side), as in the reference code.
    """
    side = int(size * CUT + 0.5)
    return _whole(u, size + 1 - side % 2) - side // 2, side


def _inside(start, side, size):
    """(batch, size) booleans: which indices along an axis fall in [start, start + side)."""
    index = tf.range(size)[None, :]
    return (index >= start[:, None]) & (index < start[:, None] + side)


def cutout(x, u):
    top, height = cut_box(x.shape[1], u[:, 0])
    left, width = cut_box(x.shape[2], u[:, 1])
    cut = _inside(top, height, x.shape[1])[:, :, None] & _inside(left, width, x.shape[2])[:, None, :]
    return x * tf.cast(~cut, x.dtype)[..., None]


#: Policy name -> its ops (function, number of U(0, 1) draws per image), in the order they apply.
OPS = {
    "color": ((brightness, 1), (saturation, 1), (contrast, 1)),
    "translation": ((translation, 2),),
    "cutout": ((cutout, 2),),
}


def _draw(images, columns, seed):
    """(batch, columns) U(0, 1) numbers, a row per image, drawn for the global batch."""
    shape = tf.stack([tf.shape(images)[0], columns])
    return replicas.share(lambda s: keras.random.uniform(s, seed=seed), shape)


def augment(images, policy, view):
    """``images`` through each op of ``policy`` (a tuple of ``OPS`` names); see the module docstring."""
    for name in policy:
        for op, columns in OPS[name]:
            u = _draw(images, columns + 1, view.seed)
            changed = op(images, u[:, :columns])
            if view.augment_p is not None:  # ADA: this op applies to an image with probability p
                coin = u[:, columns] < ops.convert_to_tensor(view.augment_p)
                changed = tf.where(tf.reshape(coin, (-1, 1, 1, 1)), changed, images)
            images = changed
    return images
