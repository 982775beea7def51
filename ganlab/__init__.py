"""ganlab: a pluggable GAN framework on TensorFlow 2 and Keras 3.

The public names a plugin author imports live here, and the Python API (``train``,
``load_run``, ``Run``: ``ganlab.api``, docs/api.md). Importing ``ganlab`` is cheap: it does
not import TensorFlow, and it does not load plugins (call
:func:`ganlab.components.loading.load_registry` for that); the API is imported on first use.
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
    "train",
    "load_run",
    "Run",
]

#: The Python API's names, imported from ``ganlab.api`` when first asked for.
_API = ("train", "load_run", "Run")


def __getattr__(name):
    if name in _API:
        from ganlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'ganlab' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])
