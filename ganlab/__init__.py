"""ganlab: a pluggable GAN framework on TensorFlow 2 and Keras 3.

The public names a plugin author imports live here. Importing ``ganlab`` is cheap: it
does not import TensorFlow, and it does not load plugins (call
:func:`ganlab.components.loading.load_registry` for that).
"""

import pluggy

__version__ = "0.1.0"

#: Decorator that marks a plugin's hook implementations, e.g. ``@hookimpl def register_losses(register)``.
hookimpl = pluggy.HookimplMarker("ganlab")

from ganlab.components.component import Component  # noqa: E402  (after hookimpl, which plugins import from here)
from ganlab.components.interfaces import ImageData, ImageFiles, Loss  # noqa: E402
from ganlab.components.kinds import KINDS  # noqa: E402
from ganlab.components.params import Above, AtLeast, AtMost, Choices, Length, Param, Range, params_rule  # noqa: E402
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
    "Range",
    "AtLeast",
    "Above",
    "AtMost",
    "Choices",
    "Length",
    "params_rule",
    "GanlabError",
]
