"""Claiming a run directory: one writer per run, an advisory lock on a file inside it, held while it trains.

``new_run_dir`` makes (or takes the empty folder given as) a new run directory and locks it.

``ganlab run --out DIR`` and ``ganlab run --resume DIR`` take the lock before they write
anything; a second process asking for the same directory gets one line naming the holder
(its pid, host and start time, which the holder writes into the lock file) and changes
nothing there. The lock is ``fcntl.flock``: the kernel drops it when the holder exits, even
when it is killed, so a stale lock file never blocks a later run.
"""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path

from ganlab.errors import GanlabError

LOCK = ".ganlab.lock"


class RunLock:
    """The lock of one run directory, held until ``release`` (or the end of a ``with`` block)."""

    def __init__(self, run_dir, fd):
        self.run_dir, self._fd = Path(run_dir), fd

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def lock_path(run_dir) -> Path:
    return Path(run_dir) / LOCK


def holder(run_dir) -> str:
    """Who holds (or last held) the lock, as its file says: 'pid P on host H since T'."""
    try:
        text = lock_path(run_dir).read_text(errors="replace").strip()
    except OSError:
        text = ""
    return text[:200] or "another process"


def acquire(run_dir, what, fix="choose another folder") -> RunLock:
    """Take the lock of the existing folder ``run_dir``; GanlabError if another process holds it.

    ``what`` starts each message (``--out DIR``, ``--resume DIR``); ``fix`` says what to do
    when the folder cannot be written.

    The lock file is created if missing; that is the only change made to the folder, and
    none is made when another process holds the lock (its file exists already).
    """
    run_dir = Path(run_dir)
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no locking
        return RunLock(run_dir, None)
    try:
        fd = os.open(lock_path(run_dir), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise GanlabError(
            f"{what}: cannot write there ({exc.strerror or exc}); {fix}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise GanlabError(
            f"{what}: a ganlab process is writing this run directory ({holder(run_dir)}); "
            "wait for it to finish or stop it, or choose another folder"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise GanlabError(f"{what}: cannot lock the run directory ({exc.strerror or exc})") from None
    since = datetime.datetime.now().isoformat(timespec="seconds")
    text = f"pid {os.getpid()} on host {socket.gethostname()} since {since}\n".encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
    except OSError:
        pass  # the lock holds without the note; a second process then names "another process"
    return RunLock(run_dir, fd)


def new_run_dir(recipe, out=None) -> RunLock:
    """Make (or take the empty folder ``out`` as) a run directory, locked for this process.

    Returns the held ``RunLock``; its ``run_dir`` is the directory. A folder that holds
    anything, or that another ganlab process is writing, is refused and left as it is.
    """
    if out:
        run_dir = Path(out)
        if run_dir.exists() and not run_dir.is_dir():
            raise GanlabError(f"--out {run_dir}: this is a file, not a folder; choose a new folder for the run")
        if run_dir.is_dir() and _entries(run_dir) and not lock_path(run_dir).exists():
            raise _not_empty(run_dir)
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path(recipe["output"]["dir"]) / f"{Path(recipe.source).stem}-{stamp}"
        run_dir, n = base, 1
        while run_dir.exists():
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanlabError(
            f"cannot write run directory {run_dir}: {exc.strerror or exc}; choose another with --out"
        ) from None
    lock = acquire(run_dir, f"--out {run_dir}", "choose another folder with --out")
    if _entries(run_dir):  # a finished run (its lock file is left), or another process's files
        lock.release()
        raise _not_empty(run_dir)
    return lock


def _entries(folder) -> list:
    return [p for p in Path(folder).iterdir() if p.name != LOCK]


def _not_empty(run_dir):
    return GanlabError(
        f"--out {run_dir}: folder exists and is not empty; choose a new one, or continue it with --resume {run_dir}"
    )


def release_new(lock, made_here):
    """Undo ``new_run_dir`` for a run that wrote nothing: drop the lock file, and the folder if it made it."""
    if not _entries(lock.run_dir):
        lock_path(lock.run_dir).unlink(missing_ok=True)
        if made_here:
            lock.run_dir.rmdir()
    lock.release()
