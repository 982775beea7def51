"""The ``classifier`` extractor: a small CNN that ganlab trains on the labelled data itself.

Pretrained Inception weights cannot be downloaded everywhere and know nothing of digits or
of a user's own classes, so ganlab trains a classifier on the judge's classifier part,
caches it under a hash of everything that went into it (architecture, images, labels,
seed, epochs), and computes every metric from its class probabilities and its
penultimate-layer features. Images smaller than 32 px get the small plain CNN that
ganlab's MNIST numbers were measured with; 32 px and larger a small residual CNN.
"""

from __future__ import annotations

import hashlib
import json

import keras
import numpy as np

from ganlab.cache import cache_dir, cached_model
from ganlab.errors import GanlabError

#: Part of the cache key; bump the architecture's entry whenever its build or training changes.
ARCHITECTURE_VERSION = {"plain": 3, "residual": 1}
FEATURES_LAYER = "features"
#: The smallest height and width the plain CNN's convolutions (3x3, 3x3 stride 2, 3x3, unpadded) leave a pixel of.
MIN_SIDE = 9
#: From this height and width on, the residual CNN.
RESIDUAL_SIDE = 32
#: Training epochs by architecture: the residual CNN sees more, larger images per epoch.
EPOCHS = {"plain": 15, "residual": 12}


def architecture(image_shape) -> str:
    return "residual" if min(image_shape[:2]) >= RESIDUAL_SIDE else "plain"


def content_hash(images, labels, seed: int, epochs: int) -> str:
    digest = hashlib.sha256()
    arch = architecture(images.shape[1:])
    version = ARCHITECTURE_VERSION[arch]
    key = {"arch": version if arch == "plain" else f"{arch}-{version}", "shape": list(images.shape), "seed": seed}
    key["epochs"] = epochs
    digest.update(json.dumps(key).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def build(image_shape, num_classes):
    """The classifier for images of ``image_shape``: plain below ``RESIDUAL_SIDE`` px, else residual."""
    if architecture(image_shape) == "residual":
        return _build_residual(image_shape, num_classes)
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


def _residual_block(x, width, stride):
    layers = keras.layers
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False)(x)
    y = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(width, 3, padding="same", use_bias=False)(y))
    return layers.ReLU()(layers.Add()([shortcut, y]))


def _build_residual(image_shape, num_classes):
    """Three residual stages (32, 64, 128 channels, halving the size twice), global pooling."""
    layers = keras.layers
    inputs = keras.Input(image_shape)
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="reflect")(inputs)
    x = layers.RandomFlip("horizontal")(x) if image_shape[-1] == 3 else x  # photographs, not glyphs
    x = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(32, 3, padding="same", use_bias=False)(x)))
    for width, stride in ((32, 1), (64, 2), (128, 2)):
        x = _residual_block(x, width, stride)
    x = layers.GlobalAveragePooling2D()(x)
    features = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    logits = layers.Dense(num_classes, name="logits")(layers.Dropout(0.3)(features))
    return keras.Model(inputs, logits, name="ganlab_residual_classifier")


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


def load_or_train(images, labels, seed=0, epochs=None, verbose=0):
    """The cached classifier for exactly these inputs, training it on first use.

    Returns ``(model, digest, path)``; the model is written atomically under ganlab's
    cache folder as ``classifier-<digest>.keras``.
    """
    epochs = EPOCHS[architecture(images.shape[1:])] if epochs is None else epochs
    digest = content_hash(images, labels, seed, epochs)
    path = cache_dir() / f"classifier-{digest}.keras"
    return cached_model(path, lambda: train(images, labels, seed, epochs, verbose)), digest, path


class Classifier:
    """The extractor: the trained classifier's (class probabilities, penultimate features)."""

    data_classes = True

    def __init__(self, model, digest, path, trained_on):
        self.head, self.digest, self.path, self.trained_on = head(model), digest, path, trained_on
        self.architecture = architecture(model.input_shape[1:])

    def extract(self, images_unit):
        return predict(self.head, images_unit)

    def provenance(self) -> dict:
        return {
            "extractor": "classifier",
            "architecture": self.architecture,
            "hash": self.digest,
            "file": str(self.path),
            "trained_on": self.trained_on,
        }


def prepare(part, options, log):
    """The classifier for ``part``'s labelled images, trained on first use (see ``load_or_train``)."""
    model, digest, path = load_or_train(part.images, part.labels, verbose=2 if log is print else 0)
    return Classifier(model, digest, path, len(part.images))
