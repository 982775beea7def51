"""What several test modules share: tiny recipes, reading checkpoints, test data on disk."""

import gzip
import json
import struct
import textwrap

import imageio.v3 as iio
import numpy as np

from ganlab.recipe.validate import validate
from ganlab.training import checkpoint
from ganlab_plugins import mnist as mnist_plugin


def tiny(reg, epochs=2, width=32, **training):
    """A small, fast recipe: 8x8 noise images, small MLPs."""
    data = {
        "data": {"name": "noise", "n": training.pop("n", 256)},
        "generator": {"name": "mlp", "hidden": [width, width], "dropout": 0.2},
        "discriminator": {"name": "mlp", "hidden": [32], "dropout": 0.2},
        "loss": training.pop("loss", "bce"),
        "training": {
            "epochs": epochs, "batch_size": 32, "latent_dim": 8, "d_steps": 2, "steps_per_execution": 2, **training
        },
        "output": {"checkpoint_every": 1, "grid": 3},
    }
    return validate(data, reg, source="tiny.yaml")


def final_state(run_dir):
    path, meta = checkpoint.latest(run_dir)
    with np.load(path) as f:
        return meta, {k: f[k] for k in f.files if k != "__meta__"}


def largest_difference(state, expected) -> float:
    """The largest absolute difference between two checkpoints' variables."""
    return max(float(np.max(np.abs(state[k].astype(float) - expected[k].astype(float)))) for k in expected)


class Generate:
    """A stand-in for G(z) in callback tests: a different gray level on every call."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return np.full((4, 5, 5, 1), self.calls / 20)


def tf_config(cluster_spec, task_type="worker", index=0):
    """A TF_CONFIG value: the cluster's addresses by task type, and this process's task."""
    return json.dumps({"cluster": cluster_spec, "task": {"type": task_type, "index": index}})


UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: nothing listens there


def idx(array, magic):
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_split(folder, split="test", n=5, gz=True, labels=None):
    """Write ``n`` random images (and ``labels``, default 0, 1, 2, ...) as the split's IDX files."""
    folder.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28))
    labels = np.arange(n) % 10 if labels is None else labels
    for name, payload in zip(mnist_plugin.FILES[split], (idx(images, 0x803), idx(labels, 0x801))):
        if gz:
            (folder / name).write_bytes(gzip.compress(payload))
        else:
            (folder / name.removesuffix(".gz")).write_bytes(payload)
    return images, labels


def write_images(folder, n=6, shape=(12, 16, 3), classes=("cats", "dogs"), seed=0):
    """``n`` random images per class subfolder, alternating PNG and JPEG; returns the PNGs' pixels by path."""
    rng = np.random.default_rng(seed)
    pngs = {}
    for c in classes:
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            path = folder / c / f"{i:02d}.{'png' if i % 2 == 0 else 'jpg'}"
            iio.imwrite(path, pixels)
            if path.suffix == ".png":
                pngs[path] = pixels
    return pngs


def write_npz(path, n=40, shape=(8, 8), seed=0):
    """Float images in [-1, 1] under ``x`` and labels 0..3 under ``y``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.uniform(-1, 1, (n, *shape)).astype(np.float32), y=np.arange(n) % 4)
    return path


def fake_distribution(tmp_path, name, module_source, entry_points):
    """A real installed distribution: a module plus its .dist-info metadata on sys.path."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = tmp_path / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[ganlab]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    return tmp_path
