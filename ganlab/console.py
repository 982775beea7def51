"""What the command line needs beside its commands: flags that take numbers, and output that
survives a closed pipe, a full disk, a closed descriptor and paths that are not UTF-8.

Nothing here imports TensorFlow at module level (``ganlab list`` and ``check`` use it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from ganlab.errors import GanlabError

#: Bad input (a flag, a recipe, data, a run directory): what ``GanlabError`` exits with.
EXIT_BAD_INPUT = GanlabError.exit_code

#: A reader that closed the pipe early (``ganlab check R | head -1``): 128 + SIGPIPE, the status
#: the shell reports for other Unix tools in that position, with no message.
EXIT_PIPE_CLOSED = 141


def emit(text, flush=False):
    """Write a command's output to stdout. One that cannot take it (a full disk, an I/O error) is one
    line; a reader that went away (a closed pipe) is left to ``main``."""
    try:
        sys.stdout.write(text)
        if flush:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise GanlabError(f"cannot write the output to standard output: {exc.strerror or exc}") from None


def prepare_streams():
    """stdout and stderr as every command may write them: a descriptor closed at start (``ganlab run R >&-``)
    is the null device, and a path that is not valid UTF-8 is printed as its bytes."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with the descriptor closed (ganlab run R >&-): discard
            setattr(sys, name, open(os.devnull, "w"))  # stays open until exit
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        # A path that is not valid UTF-8 (Python holds its bytes as surrogate escapes) is printed
        # as the bytes it is made of, as ls does, not as a UnicodeEncodeError.
        sys.stdout.reconfigure(errors="surrogateescape")


def caused_by_closed_pipe(exc) -> bool:
    """Whether ``exc`` was raised while handling a BrokenPipeError (``raise ... from None`` keeps the context)."""
    for _ in range(10):
        exc = exc.__cause__ or exc.__context__
        if exc is None:
            return False
        if isinstance(exc, BrokenPipeError):
            return True
    return False


def drop_closed_output():
    """After the reader of stdout (or stderr) went away: send what is still buffered to the null
    device, so that Python's flush at exit does not report the closed pipe once more."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        real = stream is getattr(sys, f"__{name}__")
        if real:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
                continue
            except (OSError, ValueError):
                pass
        setattr(sys, name, open(os.devnull, "w"))  # stays open until exit


def image_shape_flag(text):
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHT,WIDTH,CHANNELS such as 28,28,1, found {text!r}")
    return shape


#: ``bench --steps``: timing more steps says nothing more, and the schedules get the count as an integer.
MAX_BENCH_STEPS = 1_000_000


def whole(low, high=None):
    """An argparse type: a whole number in [low, high], else one line naming the range."""
    wanted = f">= {low:,}" if high is None else f"from {low:,} to {high:,}"

    def parse(text):
        digits = text[1:] if text[:1] in "+-" else text
        value = int(text) if digits.isdigit() and len(digits) <= 30 else None
        if value is None or value < low or (high is not None and value > high):
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise argparse.ArgumentTypeError(f"expected a whole number {wanted}, found {shown!r}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in some messages
    return parse


positive_int = whole(1)


def import_tensorflow_quietly():
    """Import TensorFlow with its C++ start-up notes (CUDA probes, oneDNN) kept off stderr.

    Those lines are written before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so the
    only way to spare a CPU user from them is to park file descriptor 2 meanwhile. If the
    import fails, what TensorFlow wrote is shown after all.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as parked:
        os.dup2(parked.fileno(), 2)
        try:
            import keras  # noqa: F401  (imports TensorFlow as its backend)
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            parked.seek(0)
            sys.stderr.write(parked.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
