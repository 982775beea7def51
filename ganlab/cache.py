"""ganlab's cache folder: what it computes once and reuses across runs (the evaluation
extractors it trains, Inception's weights, decoded image folders).

``$GANLAB_CACHE`` if set, else ``~/.ganlab/cache``. Everything in it is named by a hash of
what went into it, so a stale entry is never read for new inputs; deleting the folder
only costs recomputation.
"""

from __future__ import annotations

import os
from pathlib import Path

from ganlab.errors import GanlabError


def cache_dir() -> Path:
    base = os.environ.get("GANLAB_CACHE")
    return Path(base) if base else Path.home() / ".ganlab" / "cache"


def unwritable(folder, exc) -> GanlabError:
    return GanlabError(
        f"cannot write ganlab's cache {folder}: {exc.strerror or exc}; set GANLAB_CACHE to a folder you can write"
    )


def cached_model(path: Path, train):
    """The Keras model cached at ``path``, or ``train()``'s, saved there atomically on first use.

    The folder is made before training, so that a cache that cannot be written costs no
    training time.
    """
    import keras

    from ganlab.rundir import save_model

    if path.is_file():
        return keras.models.load_model(path, compile=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable(path.parent, exc) from None
    model = train()
    try:
        save_model(model, path)
    except OSError as exc:
        raise unwritable(path.parent, exc) from None
    return model
