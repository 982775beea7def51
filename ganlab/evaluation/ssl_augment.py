"""The random views the self-supervised encoder learns to match (SimCLR's augmentations, batched).

Chen et al. 2020 (SimCLR) show that the crop and the colour distortion carry most of the
signal; for 32 px images they leave out the Gaussian blur, and so does ganlab: a blur
of a 32 px image destroys most of it, and an encoder trained to ignore blur could not
tell blurred samples from sharp ones (docs/metrics.md, "Self-supervised extractor").
Every transform works on a whole batch with per-image random parameters drawn from one
``tf.random.Generator``, so a seeded generator gives the same views every run.
"""

from __future__ import annotations

import math

import tensorflow as tf

#: The share of the image area a random crop keeps, and the range of its aspect ratio.
CROP_SCALE = (0.2, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
#: Colour jitter (SimCLR's strength 0.5): brightness, contrast, saturation, hue; applied with JITTER_P.
#: Images of other than three channels get contrast only: on a dark background, a brightness
#: shift clipped at 0 looks like clipped additive noise, and an encoder taught to ignore it
#: ignores noise (docs/metrics.md, "Self-supervised extractor").
BRIGHTNESS, CONTRAST, SATURATION, HUE = 0.4, 0.4, 0.4, 0.1
JITTER_P = 0.8
GRAYSCALE_P = 0.2  # colour images only


def view(images, rng: tf.random.Generator):
    """One random view of each image in ``images`` (float32 in [0, 1], shape (n, h, w, c))."""
    images = _crop_and_flip(images, rng)
    colour = images.shape[-1] == 3
    jittered = _jitter(images, rng, colour)
    images = _where(rng.uniform([tf.shape(images)[0]]) < JITTER_P, jittered, images)
    if colour:
        gray = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(images))
        images = _where(rng.uniform([tf.shape(images)[0]]) < GRAYSCALE_P, gray, images)
    return images


def _where(mask, a, b):
    return tf.where(mask[:, None, None, None], a, b)


def _crop_and_flip(images, rng):
    """A random resized crop back to the input size, mirrored left-right for half the images."""
    n = tf.shape(images)[0]
    scale = rng.uniform([n], *CROP_SCALE)
    log_ratio = rng.uniform([n], math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1]))
    ratio = tf.exp(log_ratio)
    height = tf.minimum(tf.sqrt(scale / ratio), 1.0)
    width = tf.minimum(tf.sqrt(scale * ratio), 1.0)
    top = rng.uniform([n]) * (1.0 - height)
    left = rng.uniform([n]) * (1.0 - width)
    right = left + width
    flip = rng.uniform([n]) < 0.5  # crop_and_resize mirrors a box whose x1 > x2
    left, right = tf.where(flip, right, left), tf.where(flip, left, right)
    boxes = tf.stack([top, left, top + height, right], axis=1)
    size = tf.shape(images)[1:3]
    return tf.image.crop_and_resize(images, boxes, tf.range(n), size)


def _jitter(images, rng, colour: bool):
    """Contrast for every image; brightness, saturation and hue too when it has three channels."""
    n = tf.shape(images)[0]

    def factor(spread):
        return rng.uniform([n, 1, 1, 1], 1.0 - spread, 1.0 + spread)

    if colour:
        images = tf.clip_by_value(images + rng.uniform([n, 1, 1, 1], -BRIGHTNESS, BRIGHTNESS), 0.0, 1.0)
    mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    images = tf.clip_by_value((images - mean) * factor(CONTRAST) + mean, 0.0, 1.0)
    if not colour:
        return images
    gray = tf.image.rgb_to_grayscale(images)
    images = tf.clip_by_value((images - gray) * factor(SATURATION) + gray, 0.0, 1.0)
    hsv = tf.image.rgb_to_hsv(images)
    hue = tf.math.floormod(hsv[..., :1] + rng.uniform([n, 1, 1, 1], -HUE, HUE), 1.0)
    return tf.clip_by_value(tf.image.hsv_to_rgb(tf.concat([hue, hsv[..., 1:]], axis=-1)), 0.0, 1.0)
