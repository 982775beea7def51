"""The Inception extractor: the network published FIDs and Inception Scores are computed with.

It is Heusel et al. 2017's TensorFlow graph, ``classify_image_graph_def.pb`` from Google's
``inception-2015-12-05.tgz`` (TTUR's fid.py and TF-GAN load it; pytorch-fid and clean-fid
use translations of it), so that a ganlab number can stand beside a paper's. Features are
its 2048-d ``pool_3``; class probabilities, for the Inception Score, are the softmax of
``pool_3`` times the graph's ``softmax/weights`` without the bias, as the original IS code
does. The protocol (resizing, quantisation, sample counts) is in docs/metrics.md.

Images go in at the graph's ``ExpandDims:0`` (float 0..255, the graph resizes to 299x299
bilinearly and scales to [-1, 1]), fed through an ``input_map`` so that any batch size
works; the graph's own batch-1 reshape after ``pool_3`` is never run.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import tensorflow as tf

from ganlab.cache import cache_dir
from ganlab.errors import GanlabError, one_line
from ganlab.rundir import atomic_path

URL = "https://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
ARCHIVE = "inception-2015-12-05.tgz"
GRAPH_FILE = "classify_image_graph_def.pb"
ENV = "GANLAB_INCEPTION_WEIGHTS"
NETWORK = "inception-2015-12-05 (Heusel et al. 2017 / TTUR graph)"

INPUT = "ExpandDims:0"  # float (1, h, w, 3) 0..255 in the graph: after JPEG decoding, before ResizeBilinear
POOL = "pool_3:0"  # (n, 1, 1, 2048)
LOGITS_MATMUL = "softmax/logits/MatMul"  # pool_3/_reshape times softmax/weights
FEATURES = 2048
CLASSES = 1008  # the graph's softmax: 1000 ImageNet classes and 8 unused ones
SIDE = 299
RESIZES = ("clean", "legacy")
BATCH = 50  # images per call: memory stays bounded at 299x299


class InceptionExtractor:
    """pool_3 features and no-bias softmax probabilities of uint8-quantised images."""

    data_classes = False  # ImageNet classes, not the dataset's

    def __init__(self, network, weights, path, sha256, resize):
        self._network = network
        self._weights = weights  # float64 (2048, 1008)
        self._path = path
        self._sha256 = sha256
        self._resize = resize

    def extract(self, images_unit):
        images = np.asarray(images_unit)
        _check_channels(images.shape)
        features = []
        for i in range(0, len(images), BATCH):
            batch = network_input(images[i : i + BATCH], self._resize)
            features.append(np.asarray(self._network(batch), np.float64).reshape(-1, FEATURES))
        features = np.concatenate(features) if features else np.zeros((0, FEATURES))
        logits = features @ self._weights
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return probs / probs.sum(axis=1, keepdims=True), features

    def provenance(self):
        return {
            "extractor": "inception",
            "weights": str(self._path),
            "sha256": self._sha256,
            "resize": self._resize,
            "features": f"pool_3 ({FEATURES})",
            "probabilities": f"softmax(pool_3 @ softmax/weights), no output bias ({CLASSES} classes)",
            "network": NETWORK,
        }


def prepare(part, options, log):
    """The Inception extractor for images shaped like ``part.images``.

    Options: ``weights``, a path to the .tgz or the extracted .pb (else $GANLAB_INCEPTION_WEIGHTS,
    else ganlab's cache, downloading once); ``resize``, ``clean`` (default) or ``legacy``.
    """
    _check_channels(part.images.shape)
    resize = options.get("resize") or "clean"
    if resize not in RESIZES:
        raise GanlabError(f"unknown Inception resize '{resize}': choose one of {', '.join(RESIZES)}")
    path = locate_weights(options.get("weights") or os.environ.get(ENV), log)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GanlabError(f"cannot read the Inception weights {path}: {exc.strerror or exc}") from None
    sha256 = _sha256(data)
    _check_recorded_sha256(path, sha256)
    graph_def = parse_graph(data, path)
    return InceptionExtractor(network(graph_def), softmax_weights(graph_def, path), path, sha256, resize)


def network_input(images_unit, resize):
    """The float32 0..255 batch fed at ``ExpandDims:0``: quantised to uint8 values, 3 channels.

    ``clean`` resizes to 299x299 with antialiased bicubic filtering here (clean-fid's protocol,
    which uses PIL's bicubic filter: values differ slightly); ``legacy`` leaves the size to the
    graph's own bilinear resize (TTUR, TF-GAN).
    """
    images = np.rint(np.clip(np.asarray(images_unit, np.float64), 0.0, 1.0) * 255.0).astype(np.float32)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if resize == "clean" and images.shape[1:3] != (SIDE, SIDE):
        return tf.image.resize(images, (SIDE, SIDE), method="bicubic", antialias=True)
    return tf.constant(images)


def network(graph_def):
    """A function from a float32 (n, h, w, 3) batch to ``pool_3`` (n, 1, 1, 2048)."""

    def imported(images):
        (pool,) = tf.compat.v1.import_graph_def(
            graph_def, input_map={INPUT: images}, return_elements=[POOL], name="inception"
        )
        return pool

    wrapped = tf.compat.v1.wrap_function(imported, [tf.TensorSpec((None, None, None, 3), tf.float32)])
    return wrapped.prune(wrapped.inputs[0], wrapped.outputs[0])


def parse_graph(data: bytes, path):
    """The GraphDef in ``data`` (a .pb, or the .tgz holding it), checked to be the Inception graph."""
    if data[:2] == b"\x1f\x8b":  # gzip: the archive
        data = _graph_from_archive(data, path)
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001  (protobuf's DecodeError and friends)
        raise _damaged(path, one_line(exc)) from None
    names = {node.name for node in graph_def.node}
    missing = [name for name in (INPUT.split(":")[0], POOL.split(":")[0], LOGITS_MATMUL) if name not in names]
    if missing:
        raise _damaged(path, f"no node {', '.join(missing)}")
    return graph_def


def softmax_weights(graph_def, path):
    """The (2048, 1008) matrix ``softmax/logits/MatMul`` multiplies ``pool_3`` by, in float64."""
    nodes = {node.name: node for node in graph_def.node}
    node = nodes[nodes[LOGITS_MATMUL].input[1].split(":")[0]]
    while node.op == "Identity":
        node = nodes[node.input[0].split(":")[0]]
    weights = tf.make_ndarray(node.attr["value"].tensor) if node.op == "Const" else None
    if weights is None or weights.shape != (FEATURES, CLASSES):
        shape = "not a constant" if weights is None else f"shape {weights.shape}"
        raise _damaged(path, f"its softmax weights {node.name} are {shape}, not ({FEATURES}, {CLASSES})")
    return weights.astype(np.float64)


def locate_weights(given, log) -> Path:
    """The weights file: ``given`` (option or $GANLAB_INCEPTION_WEIGHTS), else the cache, else downloaded."""
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise GanlabError(
                f"Inception weights {path} not found (from --inception-weights or {ENV}): "
                f"give the path of {ARCHIVE} (from {URL}) or of its {GRAPH_FILE}"
            )
        return path
    folder = cache_dir()
    for path in (folder / ARCHIVE, folder / GRAPH_FILE):
        if path.is_file():
            return path
    return download(folder / ARCHIVE, log)


def download(path: Path, log) -> Path:
    """Fetch ``URL`` to ``path`` once: checked to hold the Inception graph, then renamed into place.

    No checksum of the archive is published, so it is verified by its content (the graph
    parses and has the input, pool_3 and a 2048x1008 softmax); its sha256 is written beside
    it, and a cached file that no longer matches is refused later.
    """
    try:  # before downloading, so that a cache that cannot be written is its own message
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanlabError(
            f"cannot write ganlab's cache {path.parent}: {exc.strerror or exc}; set GANLAB_CACHE to a folder you "
            f"can write, or give the path of {ARCHIVE} with --inception-weights or {ENV}"
        ) from None
    log(f"downloading the Inception network (about 90 MB) from {URL} to {path}")
    try:
        with urllib.request.urlopen(URL, timeout=60) as response, atomic_path(path) as tmp:
            with open(tmp, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            data = tmp.read_bytes()
            softmax_weights(parse_graph(data, "the downloaded file"), "the downloaded file")
    except OSError as exc:  # urllib's URLError included
        raise GanlabError(
            f"the Inception weights are not in ganlab's cache and downloading them failed ({one_line(exc)}): "
            f"download {URL} and put it at {path}, or give its path with --inception-weights or {ENV}"
        ) from None
    _sha256_file(path).write_text(_sha256(data) + "\n")
    return path


def _check_recorded_sha256(path: Path, actual: str):
    """A file ganlab downloaded must still have the sha256 recorded beside it then."""
    record = _sha256_file(path)
    if not record.is_file():
        return
    expected = record.read_text().strip()
    if actual != expected:
        raise GanlabError(
            f"{path} has sha256 {actual[:16]}..., not the {expected[:16]}... recorded when it was downloaded: "
            f"the file has changed; delete it and {record.name} to download it again"
        )


def _graph_from_archive(data: bytes, path) -> bytes:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                if member.isfile() and Path(member.name).name == GRAPH_FILE:
                    return archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _damaged(path, one_line(exc)) from None
    raise _damaged(path, f"the archive holds no {GRAPH_FILE}")


def _damaged(path, reason):
    return GanlabError(
        f"{path} is damaged or not the Inception graph ({reason[:200]}); download a good copy from {URL}"
    )


def _check_channels(shape):
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise GanlabError(
            f"the Inception extractor takes images with 1 or 3 channels, these are {'x'.join(map(str, shape[1:]))}: "
            "use --extractor classifier or ssl for other channel counts"
        )


def _sha256_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
