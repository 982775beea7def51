"""ganlab: a pluggable GAN framework on TensorFlow 2 and Keras 3.

Importing ``ganlab`` is cheap: it does not import TensorFlow, and it does not load
plugins (call :func:`ganlab.plugins.load_registry` for that).
"""

import pluggy

__version__ = "0.1.0"

#: Decorator that marks a plugin's hook implementations, e.g. ``@hookimpl def register_losses(register)``.
hookimpl = pluggy.HookimplMarker("ganlab")

from ganlab.components import KINDS, Component, ImageData, ImageFiles, Loss, Param  # noqa: E402
from ganlab.errors import GanlabError  # noqa: E402

__all__ = [
    "__version__",
    "hookimpl",
    "KINDS",
    "Component",
    "ImageData",
    "ImageFiles",
    "Loss",
    "Param",
    "GanlabError",
]
