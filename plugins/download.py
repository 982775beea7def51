"""Where ganlab's downloadable datasets are kept and looked for, and the one MD5-checked download they share.

A dataset named ``NAME`` is downloaded into ``$GANLAB_DATA/NAME``, or ``~/.ganlab/data/NAME``
when ``GANLAB_DATA`` is unset; it is looked for there and in the folders where
``keras.datasets`` caches it. A downloaded file is renamed into place only when its MD5
matches, so an interrupted or tampered download never looks like data.

Only the standard library is imported at module level (urllib where it is used), so
``ganlab list`` stays fast.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ganlab import GanlabError

TIMEOUT_S = 30


def data_folder(name: str) -> Path:
    """Where downloads of dataset ``name`` go: ``$GANLAB_DATA/<name>``, else ``~/.ganlab/data/<name>``."""
    base = os.environ.get("GANLAB_DATA")
    return Path(base).expanduser() / name if base else Path.home() / ".ganlab" / "data" / name


def search_folders(name: str, keras_folders: tuple[str, ...]) -> list[Path]:
    """Where to look for dataset ``name`` when the recipe gives no path, in order.

    ``keras_folders`` are relative to ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``);
    ``$GANLAB_DATA`` comes before them, ``~/.ganlab/data`` after them.
    """
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    keras = [keras_home / "datasets" / folder for folder in keras_folders]
    if os.environ.get("GANLAB_DATA"):
        return [data_folder(name), *keras]
    return [*keras, data_folder(name)]


def mirrors(env: str, default: tuple[str, ...]) -> list[str]:
    """The base URLs to try: those in ``$<env>`` (separated by spaces), else ``default``."""
    return os.environ.get(env, "").split() or list(default)


def download(bases: list[str], name: str, folder: Path, md5: str, title: str) -> list[str]:
    """Fetch ``name`` into ``folder`` from the first of ``bases`` that serves it with ``md5``.

    Returns an empty list on success, else why each base failed.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanlabError(
            f"cannot create {folder} for the {title} download ({exc.strerror}): "
            "set GANLAB_DATA or data.path in the recipe"
        ) from None
    errors = []
    for base in bases:
        error = fetch(base.rstrip("/") + "/" + name, folder / name, md5)
        if error is None:
            return []
        errors.append(error)
    return errors


def fetch(url: str, target: Path, md5: str) -> str | None:
    """Download ``url`` to ``target`` if its MD5 is ``md5``; else return why not."""
    import urllib.error
    import urllib.request

    digest, tmp = hashlib.md5(), None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            return f"{url}: MD5 {digest.hexdigest()}, expected {md5}"
        os.replace(tmp, target)
        return None
    except urllib.error.HTTPError as exc:  # before URLError, its base: "HTTP Error 404: Not Found"
        return f"{url}: {exc}"
    except urllib.error.URLError as exc:
        return f"{url}: URLError: {exc.reason}"
    except (OSError, ValueError) as exc:  # timeouts, dropped connections, unwritable folder, bad URL
        return f"{url}: {type(exc).__name__}: {exc}"
    finally:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
