"""One writer per run directory: an advisory lock on a file inside it, held while a run trains.

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
