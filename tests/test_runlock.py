"""Claiming a run directory: one writer (the lock, naming its holder), and folders that cannot be one."""

import os

import pytest

from ganlab import runlock


def test_out_naming_a_file_is_one_line_and_the_file_stays(tmp_path):
    from ganlab import GanlabError

    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    with pytest.raises(GanlabError, match=r"--out .*notes.txt: this is a file, not a folder") as refused:
        runlock.new_run_dir(None, blocker)
    assert len(refused.value.lines) == 1 and blocker.read_text() == "keep me"


def test_a_run_directory_has_one_writer(tmp_path):
    """A second process asking for a run directory another holds gets the holder's pid and host, and
    changes nothing there; once the first lets go, the folder is a used one."""
    import socket

    from ganlab import GanlabError
    from ganlab.runlock import LOCK, acquire

    lock = runlock.new_run_dir(None, tmp_path / "run")
    run_dir = lock.run_dir
    (run_dir / "recipe.yaml").write_text("the first writer's")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    for attempt in (lambda: runlock.new_run_dir(None, run_dir), lambda: acquire(run_dir, f"--resume {run_dir}")):
        with pytest.raises(GanlabError) as second:
            attempt()
        line, = second.value.lines
        assert f"pid {os.getpid()} on host {socket.gethostname()} since " in line and "writing this run" in line
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before
    lock.release()
    with pytest.raises(GanlabError, match="folder exists and is not empty"):
        runlock.new_run_dir(None, run_dir)
    with acquire(run_dir, "--resume"):  # free again
        assert (run_dir / LOCK).is_file()


def test_a_run_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    """Tests run as root, which ignores permission bits: the lock file's creation fails instead."""
    import errno

    from ganlab import GanlabError
    from ganlab.runlock import LOCK, acquire

    real_open = os.open

    def read_only(path, *args, **kwargs):
        if str(path).endswith(LOCK):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(GanlabError, match=r"--resume .*: cannot write there \(Read-only file system\); a resumed"):
        acquire(tmp_path, f"--resume {tmp_path}", "a resumed run writes there")
    with pytest.raises(GanlabError, match=r"--out .*: cannot write there \(Read-only file system\); choose another"):
        runlock.new_run_dir(None, tmp_path)
    assert list(tmp_path.iterdir()) == []
