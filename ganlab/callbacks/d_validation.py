"""D validation (``training.d_validation``): D's accuracy on real images held out of training."""

from __future__ import annotations

import keras
import numpy as np

from ganlab.callbacks.metrics_csv import VALIDATION
from ganlab.training.stream import scale_images

#: Images of each part ``DValidation`` judges: enough for a two-digit accuracy, cheap.
VALIDATION_IMAGES = 1000


class DValidation(keras.callbacks.Callback):
    """D's accuracy on real images held out of training, beside real images it trains on.

    After each epoch D judges (in inference mode) the same number of images from each
    part and adds the two accuracies (``VALIDATION``) to the epoch's logs. Accuracy on the
    training images far above the held-out ones means D is memorising its training set:
    D overfitting, a common way GANs on small datasets fail. ``labels`` are the two
    parts' labels, ``(training, held out)``, for a conditional D (which judges each image
    with its label); ``(None, None)`` otherwise.
    """

    def __init__(self, discriminator, training_images, held_out_images, output_range, threshold, labels=(None, None)):
        super().__init__()
        k = min(VALIDATION_IMAGES, len(training_images), len(held_out_images))
        self.parts = {}
        for key, images, part_labels in zip(VALIDATION, (training_images, held_out_images), labels):
            scaled = scale_images(np.asarray(images[:k]), output_range)
            if part_labels is not None:
                scaled = [np.asarray(scaled), np.asarray(part_labels[:k], np.int32)]
            self.parts[key] = scaled
        self.discriminator, self.threshold = discriminator, threshold

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for key, images in self.parts.items():
            logits = np.asarray(self.discriminator.predict(images, batch_size=250, verbose=0), np.float32)
            logs[key] = float(np.mean(logits > self.threshold))
