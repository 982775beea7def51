"""The feature extractor behind ``ganlab eval``: a small CNN that ganlab trains itself.

Pretrained Inception weights cannot be downloaded everywhere and do not know MNIST, so
ganlab trains a small MNIST classifier, caches it under a hash of everything that went
into it (architecture version, images, labels, seed, epochs), and computes every metric
from its class probabilities and its penultimate-layer features.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np

from ganlab.errors import GanlabError
from ganlab.rundir import save_model

ARCHITECTURE_VERSION = 3  # bump whenever build() or train() changes: it is part of the cache key
FEATURES_LAYER = "features"
#: The smallest height and width ``build``'s convolutions (3x3, 3x3 stride 2, 3x3, unpadded) leave a pixel of.
MIN_SIDE = 9


def cache_dir() -> Path:
    base = os.environ.get("GANLAB_CACHE")
    return Path(base) if base else Path.home() / ".ganlab" / "cache"


def content_hash(images, labels, seed: int, epochs: int) -> str:
    digest = hashlib.sha256()
    key = {"arch": ARCHITECTURE_VERSION, "shape": list(images.shape), "seed": seed, "epochs": epochs}
    digest.update(json.dumps(key).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def build(image_shape, num_classes):
    if min(image_shape[:2]) < MIN_SIDE:
        raise GanlabError(
            f"ganlab's evaluation classifier needs images of at least {MIN_SIDE}x{MIN_SIDE} (its three "
            f"unpadded convolutions), these are {'x'.join(map(str, image_shape))}: such a dataset cannot be "
            "scored by ganlab eval or output.eval_every"
        )
    layers = keras.layers
    inputs = keras.Input(image_shape)
    # Small shifts and rotations, in training only: they raise held-out accuracy on a
    # small classifier part (docs/results.md, "Setting").
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(inputs)
    x = layers.RandomRotation(0.03, fill_mode="constant")(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(64, 3, strides=2, activation="relu")(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    features = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    logits = layers.Dense(num_classes, name="logits")(layers.Dropout(0.3)(features))
    return keras.Model(inputs, logits, name="ganlab_classifier")


def train(images, labels, seed=0, epochs=15, verbose=0):
    """Train on uint8 images (n, h, w, c) and integer labels; returns the model."""
    keras.utils.set_random_seed(seed)
    model = build(images.shape[1:], int(labels.max()) + 1)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,  # the random augmentation layers do not compile with XLA
    )
    model.fit(images.astype(np.float32) / 255.0, labels, batch_size=128, epochs=epochs, verbose=verbose, shuffle=True)
    return model


def head(model):
    """The classifier with two outputs, (logits, penultimate features): what ``predict`` runs."""
    return keras.Model(model.input, [model.get_layer("logits").output, model.get_layer(FEATURES_LAYER).output])


def predict(head_model, images_unit, batch_size=500):
    """(class probabilities, penultimate features) in float64 for images in [0, 1]."""
    logits, features = [], []
    for i in range(0, len(images_unit), batch_size):
        lo, fe = head_model(np.asarray(images_unit[i : i + batch_size], np.float32), training=False)
        logits.append(np.asarray(lo, np.float64))
        features.append(np.asarray(fe, np.float64))
    logits = np.concatenate(logits)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return probs / probs.sum(axis=1, keepdims=True), np.concatenate(features)


def load_or_train(images, labels, seed=0, epochs=15, verbose=0):
    """The cached classifier for exactly these inputs, training it on first use.

    Returns ``(model, digest, path)``; the model is written atomically under
    ``cache_dir()`` as ``classifier-<digest>.keras``.
    """
    digest = content_hash(images, labels, seed, epochs)
    path = cache_dir() / f"classifier-{digest}.keras"
    if path.is_file():
        return keras.models.load_model(path, compile=False), digest, path
    try:  # before training, so that a cache that cannot be written costs no training time
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cache_unwritable(path.parent, exc) from None
    model = train(images, labels, seed, epochs, verbose)
    try:
        save_model(model, path)
    except OSError as exc:
        raise _cache_unwritable(path.parent, exc) from None
    return model, digest, path


def _cache_unwritable(folder, exc):
    return GanlabError(
        f"cannot write ganlab's classifier cache {folder}: {exc.strerror or exc}; "
        "set GANLAB_CACHE to a folder you can write"
    )
