"""``ganlab export``: a run's generator as an artefact that runs without ganlab (TensorFlow
SavedModel, ONNX, LiteRT), with a JSON file beside it that says how to feed and read it.

``formats`` is the table of formats (and what a format's module raises for an operation it
cannot carry); ``exporter`` checks the flags, exports, checks the artefact against Keras and
writes the metadata; ``savedmodel``, ``onnx`` and ``litert`` each write and run one format.
"""
