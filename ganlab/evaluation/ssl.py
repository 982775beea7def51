"""The self-supervised extractor: a contrastive encoder ganlab trains on unlabelled real images.

Data without labels cannot train ganlab's classifier, and Inception's features know
natural photographs, not every user's data. So ganlab trains a small SimCLR-style
encoder (Chen et al. 2020) on the classifier part of the real data, ignoring any
labels: two random views of each image (``ssl_augment``) go through the encoder and a
projection head, and the NT-Xent loss pulls the two views of an image together and
pushes them from every other image in the batch. The metrics use the encoder's
globally pooled features, never the projection head. The encoder is cached under a hash
of everything that went into it, so the same data gives the same features every time.

``options`` (all optional; docs/metrics.md gives the defaults' training times):

- ``epochs``: passes over the training images (default ``EPOCHS``);
- ``max_images``: train on a seeded random subset of at most this many images (default ``MAX_IMAGES``);
- ``batch_size``: images per step, each giving two views (default ``BATCH_SIZE``);
- ``seed``: the subset, the initial weights and every random view (default 0).
"""

from __future__ import annotations

import hashlib
import json
import time

import keras
import numpy as np
import tensorflow as tf

from ganlab.cache import cache_dir, cached_model
from ganlab.errors import GanlabError
from ganlab.evaluation import ssl_augment

ARCHITECTURE_VERSION = 2  # bump whenever build_encoder(), ssl_augment or train() changes: it is part of the cache key
#: Three stride-2 convolutions leave a 2x2 map of a 16x16 image.
MIN_SIDE = 16
EPOCHS, MAX_IMAGES, BATCH_SIZE = 6, 10_000, 256
TEMPERATURE = 0.2
LEARNING_RATE = 2e-3
FEATURE_DIM, PROJECTION_DIM = 256, 128
OPTION_KEYS = ("epochs", "max_images", "batch_size", "seed")


def prepare(part, options: dict, log=print):
    """The cached encoder for ``part.images`` (trained on first use); labels are ignored."""
    images = part.images
    if images.ndim != 4 or min(images.shape[1:3]) < MIN_SIDE:
        raise GanlabError(
            f"the ssl extractor needs images of at least {MIN_SIDE}x{MIN_SIDE} (its three stride-2 convolutions), "
            f"{part.dataset_name}'s are {'x'.join(map(str, images.shape[1:]))}: "
            "use --extractor inception (or classifier, for labelled data)"
        )
    settings = _settings(options)
    if len(images) < 2:
        raise GanlabError(
            f"the ssl extractor needs at least 2 real images to contrast, {part.dataset_name} has {len(images)}"
        )
    chosen = np.random.default_rng(settings["seed"]).permutation(len(images))[: settings["max_images"]]
    images = images[np.sort(chosen)]
    digest = content_hash(images, settings)
    path = cache_dir() / f"ssl-{digest}.keras"

    def train_logged():
        log(f"ganlab: training the ssl encoder on {len(images)} images for {settings['epochs']} epochs")
        start = time.perf_counter()
        encoder = train(images, settings)
        log(f"ganlab: ssl encoder trained in {time.perf_counter() - start:.0f} s, caching it as {path}")
        return encoder

    encoder = cached_model(path, train_logged)
    return Encoder(encoder, {"hash": digest, "file": str(path), "trained_on": len(images), **settings})


def _settings(options: dict) -> dict:
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise GanlabError(f"unknown ssl extractor option(s) {', '.join(unknown)}: expected {', '.join(OPTION_KEYS)}")
    settings = {"epochs": EPOCHS, "max_images": MAX_IMAGES, "batch_size": BATCH_SIZE, "seed": 0, **options}
    for key, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "seed" else 1):
            raise GanlabError(f"ssl extractor option {key}: expected a whole number >= 1, found {value!r}")
    return settings


def content_hash(images, settings: dict) -> str:
    """What identifies an encoder: architecture version, settings and the training images."""
    digest = hashlib.sha256()
    key = {"arch": ARCHITECTURE_VERSION, "shape": list(images.shape), "temperature": TEMPERATURE, **settings}
    digest.update(json.dumps(key, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()[:16]


class Encoder:
    """What ``prepare`` returns: features for FID, KID and precision/recall; no class probabilities."""

    data_classes = False

    def __init__(self, model, record: dict):
        self.model = model
        self.record = record

    def extract(self, images_unit, batch_size: int = 500):
        features = [
            np.asarray(self.model(np.asarray(images_unit[i : i + batch_size], np.float32), training=False), np.float64)
            for i in range(0, len(images_unit), batch_size)
        ]
        return None, np.concatenate(features) if features else np.zeros((0, FEATURE_DIM))

    def provenance(self) -> dict:
        return {
            "extractor": "ssl",
            **self.record,
            "architecture": ARCHITECTURE_VERSION,
            "feature_dim": FEATURE_DIM,
            "temperature": TEMPERATURE,
            "preprocessing": "pixels / 255, the images' own size; features: global average pool of the encoder",
        }


def build_encoder(image_shape):
    """Conv-BN-ReLU blocks, three of them halving the size, then a global average pool: the features."""
    layers = keras.layers
    inputs = keras.Input(image_shape)
    x = inputs
    for filters, strides in ((32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (FEATURE_DIM, 2)):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    features = layers.GlobalAveragePooling2D(name="features")(x)
    return keras.Model(inputs, features, name="ganlab_ssl_encoder")


def nt_xent(projections, temperature: float = TEMPERATURE):
    """SimCLR's loss for 2n projections whose rows i and i + n are two views of one image."""
    z = tf.math.l2_normalize(projections, axis=1)
    n2 = tf.shape(z)[0]
    logits = tf.matmul(z, z, transpose_b=True) / temperature - tf.eye(n2) * 1e9  # an image is not its own pair
    half = n2 // 2
    partners = tf.concat([tf.range(half, n2), tf.range(0, half)], axis=0)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(partners, logits))


def train(images, settings: dict, log_every: int = 0, log=print):
    """The encoder after ``settings['epochs']`` passes of contrastive training on uint8 ``images``."""
    keras.utils.set_random_seed(settings["seed"])
    encoder = build_encoder(images.shape[1:])
    head = keras.Sequential(
        [
            keras.Input((FEATURE_DIM,)),
            keras.layers.Dense(FEATURE_DIM, activation="relu"),
            keras.layers.Dense(PROJECTION_DIM),
        ]
    )
    batch = min(settings["batch_size"], len(images))
    steps_per_epoch = len(images) // batch
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps_per_epoch * settings["epochs"])
    optimizer = keras.optimizers.Adam(schedule)
    variables = encoder.trainable_variables + head.trainable_variables
    optimizer.build(variables)
    rng = tf.random.Generator.from_seed(settings["seed"])

    @tf.function
    def step(batch_uint8):
        unit = tf.cast(batch_uint8, tf.float32) / 255.0
        views = tf.concat([ssl_augment.view(unit, rng), ssl_augment.view(unit, rng)], axis=0)
        with tf.GradientTape() as tape:
            loss = nt_xent(head(encoder(views, training=True), training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    order = np.random.default_rng(settings["seed"])
    for epoch in range(settings["epochs"]):
        shuffled = order.permutation(len(images))
        losses = [float(step(images[shuffled[i * batch : (i + 1) * batch]])) for i in range(steps_per_epoch)]
        if log_every and (epoch + 1) % log_every == 0:
            log(f"ssl epoch {epoch + 1}: NT-Xent {np.mean(losses):.3f}")
    return encoder
