"""ONNX export through Keras' ``Model.export(format="onnx")``, which converts with tf2onnx;
checked with onnxruntime. Needs the ``onnx`` extra (tf2onnx, onnx, onnxruntime).

tf2onnx does not fail on a TensorFlow operation it has no ONNX equivalent for: it logs an
error and writes a graph that no runtime can load. ``write`` listens to its log and turns
the first such operation into ``CannotCarry``, so the layer can be named.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings

from ganlab.export.formats import CannotCarry

#: tf2onnx's line for an operation without an ONNX equivalent: "Tensorflow op [PATH: OP] is not supported".
_UNSUPPORTED = re.compile(r"op \[(?P<where>[^\]:]+): (?P<op>\w+)\] is not supported")


class _Unsupported(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.found = []

    def emit(self, record):
        match = _UNSUPPORTED.search(record.getMessage())
        if match:
            self.found.append(CannotCarry(match["where"], match["op"]))


@contextlib.contextmanager
def _listening(logger_name="tf2onnx"):
    logger = logging.getLogger(logger_name)
    handler, propagate = _Unsupported(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # its error lines become our one line
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def write(model, path):
    with _listening() as unsupported, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Keras' numpy-2 patch of tf2onnx probes np.object
        model.export(str(path), format="onnx", verbose=False)
    if unsupported.found:
        raise unsupported.found[0]


def run(path, inputs: dict) -> dict:
    """The graph's outputs for ``inputs`` (input name -> array), by output name, with onnxruntime on CPU."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))
