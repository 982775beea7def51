"""LiteRT (TensorFlow Lite) export through Keras' ``Model.export(format="litert")``, with
LiteRT's builtin operations only: no TensorFlow ("select") operations, which would need
the Flex delegate that the standalone LiteRT runtime (``ai-edge-litert``) lacks. An
operation without a builtin equivalent becomes ``CannotCarry``, naming it and its graph path.

Converting needs only TensorFlow; ``run`` uses ``ai_edge_litert`` when installed (the
``litert`` extra), else TensorFlow's own ``tf.lite.Interpreter``.
"""

from __future__ import annotations

import re

from ganlab.export.formats import CannotCarry

#: The converter's error for an operation without a builtin:
#: 'fused["Op:", "PATH@__inference..."] ... 'tf.Op' op is neither a custom op nor a flex op'.
_UNSUPPORTED = re.compile(r'fused\["(?P<op>\w+):", "(?P<where>[^"@]+)@[^"]*"\].*?\'tf\.(?P=op)\' op is neither', re.S)


def write(model, path):
    import tensorflow as tf

    builtins = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    try:
        model.export(str(path), format="litert", verbose=False, target_spec=builtins)
    except Exception as exc:
        match = _UNSUPPORTED.search(str(exc))
        if match is None:
            raise
        raise CannotCarry(match["where"], match["op"]) from None


def run(path, inputs: dict) -> dict:
    """The ``serving_default`` signature's outputs for ``inputs`` (input name -> array)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=str(path)).get_signature_runner()(**inputs)
