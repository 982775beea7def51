"""Which component raised an exception: a plugin's bug in a training step as one line naming it.

An exception from inside ``model.fit`` is a traceback through Keras, TensorFlow and ganlab;
when one of its frames is in a module of a component the recipe uses, the fault is most
likely that component's. :func:`blame` maps the frames (innermost first) to the component
whose builder module holds them (or, failing that, a module beside it in its package) and
returns one line naming the kind, the component, its plugin and where, or ``None`` when no
frame is a component's (a ganlab bug: the caller keeps the traceback).

Frames come from the traceback and, for errors raised while TensorFlow traced a function
with AutoGraph (whose frames are in generated files), from the ``File "...", line N, in f``
lines TensorFlow writes into the message.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import traceback
from pathlib import Path

from ganlab.errors import one_line

#: Longest line blame returns, so that an exception with a huge message stays one readable line.
LIMIT = 600

_FILE_LINE = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


@dataclasses.dataclass(frozen=True)
class Frame:
    path: Path
    line: int
    function: str


def blame(exc: BaseException, recipe) -> str | None:
    """One line naming the component of ``recipe`` whose code raised ``exc``; None if none did.

    ``recipe`` is a validated :class:`ganlab.recipe.validate.Recipe` (its ``components``
    map each section to a :class:`ganlab.components.component.Component`).
    """
    components = list(getattr(recipe, "components", {}).values())
    if not components:
        return None
    files = [(c, _builder_file(c)) for c in components]
    for frame in frames(exc):
        chosen = [c for c, f in files if f is not None and f == frame.path]
        if not chosen:  # a helper module of the plugin: the package of its builder module
            chosen = [c for c, f in files if _in_package(frame.path, f)]
        if len(chosen) > 1:
            chosen = _by_class(frame, chosen) or chosen
        if chosen:
            return _line(exc, frame, chosen)
    return None


def frames(exc: BaseException) -> list[Frame]:
    """The frames of ``exc``, then of the exceptions it was raised from or during, innermost first.

    Frames TensorFlow writes into the message (AutoGraph's "in user code") are inside those
    of the traceback, so they come first.
    """
    found, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        written = [Frame(_resolved(m[1]), int(m[2]), m[3]) for m in _FILE_LINE.finditer(str(exc))]
        raised = [Frame(_resolved(f.filename), f.lineno or 0, f.name) for f in traceback.extract_tb(exc.__traceback__)]
        found += written[::-1] + raised[::-1]
        exc = exc.__cause__ or exc.__context__
    return found


def _line(exc, frame: Frame, chosen) -> str:
    names = " or ".join(f"{c.kind} '{c.qualified_name}'" for c in chosen)
    first = chosen[0]
    source = f", {first.distribution} {first.version}" if first.distribution else ""
    plugins = sorted({c.plugin for c in chosen})
    text = (
        f"{names} (plugin {', '.join(plugins)}{source}) failed in a training step, "
        f"in {frame.function} at {frame.path.name}:{frame.line} "
        f"(ganlab check-plugin {' '.join(plugins)} tests it): {one_line(exc)}"
    )
    return text if len(text) <= LIMIT else text[: LIMIT - 1] + "…"


def _builder_file(component) -> Path | None:
    builder = component.builder
    module = sys.modules.get(getattr(builder, "__module__", None) or "")
    try:
        path = inspect.getsourcefile(builder) or getattr(module, "__file__", None)
    except TypeError:  # a builtin or a callable object without source
        path = getattr(module, "__file__", None)
    return _resolved(path) if path else None


def _in_package(path: Path, builder_file: Path | None) -> bool:
    """Whether ``path`` is a module beside ``builder_file`` in its package (a folder with ``__init__.py``)."""
    if builder_file is None or not (builder_file.parent / "__init__.py").exists():
        return False
    return path.parent == builder_file.parent


def _by_class(frame: Frame, chosen) -> list:
    """Of components sharing a module, those whose kind the frame's function belongs to.

    A method of a ``ganlab.Loss`` subclass is a loss's; of an ``ImageData``, a dataset's.
    """
    from ganlab.components.interfaces import ImageData, Loss

    module = next((m for m in list(sys.modules.values()) if _module_file(m) == frame.path), None)
    owner = None
    for name in vars(module) if module is not None else ():
        value = getattr(module, name, None)
        if inspect.isclass(value) and frame.function in vars(value) and value.__module__ == module.__name__:
            owner = value
            break
    for base, kind in ((Loss, "loss"), (ImageData, "dataset")):
        if owner is not None and issubclass(owner, base):
            return [c for c in chosen if c.kind == kind]
    return []


def _module_file(module) -> Path | None:
    path = getattr(module, "__file__", None)
    return _resolved(path) if isinstance(path, str) else None


def _resolved(path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, TypeError, ValueError):
        return Path(str(path))
