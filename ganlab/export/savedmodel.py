"""TensorFlow SavedModel export: the generator's forward pass (``training=False``) as the
``serving_default`` signature, inputs by name (``z``, and ``labels`` for a conditional G).

A SavedModel holds TensorFlow operations themselves, so every ganlab layer and any plugin
layer built from TensorFlow operations exports; loading it needs TensorFlow only.
"""

from __future__ import annotations


def write(model, path):
    model.export(str(path), format="tf_saved_model", verbose=False)


def run(path, inputs: dict) -> dict:
    """The ``serving_default`` signature's outputs for ``inputs`` (input name -> array)."""
    import tensorflow as tf

    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    return {name: value.numpy() for name, value in served(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
