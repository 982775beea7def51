"""The Inception extractor on a stand-in network file the test writes: the real graph's format
(a frozen GraphDef, alone or in a .tgz) and tensor names, a few small layers instead of Inception.
Nothing is downloaded: urlopen is replaced in every test that could reach it."""

import hashlib
import io
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from ganlab.errors import GanlabError
from ganlab.evaluation import inception
from ganlab.evaluation.extractors import RealPart


def stand_in_graph_def():
    """Named like classify_image_graph_def.pb: JPEG bytes -> ExpandDims -> ResizeBilinear to 299 ->
    (x - 128) / 128 -> ... -> pool_3 (1, 1, 1, 2048) -> a batch-1 reshape -> softmax with a bias."""
    rng = np.random.default_rng(0)
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, (), name="DecodeJpeg/contents")
        x = tf.cast(tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg"), tf.float32, name="Cast")
        x = tf.expand_dims(x, 0, name="ExpandDims")
        x = tf.raw_ops.ResizeBilinear(images=x, size=tf.constant([299, 299]), name="ResizeBilinear")
        x = tf.multiply(tf.subtract(x, 128.0, name="Sub"), 1 / 128, name="Mul")
        x = tf.nn.relu(tf.nn.conv2d(x, tf.constant(rng.normal(size=(3, 3, 3, 8)), tf.float32), 4, "VALID"))
        x = tf.nn.avg_pool2d(x, 9, 9, "VALID")  # 75x75 -> 8x8, as Inception's last grid
        x = tf.nn.relu(tf.nn.conv2d(x, tf.constant(rng.normal(size=(1, 1, 8, 2048)), tf.float32), 1, "VALID"))
        pool = tf.nn.avg_pool2d(x, 8, 1, "VALID", name="pool_3")
        flat = tf.reshape(pool, [1, 2048], name="pool_3/_reshape")
        weights = tf.constant(rng.normal(size=(2048, 1008)) / 40, tf.float32, name="softmax/weights")
        logits = tf.matmul(flat, weights, name="softmax/logits/MatMul")
        biases = tf.constant(rng.normal(size=1008) * 3, tf.float32, name="softmax/biases")
        tf.nn.softmax(tf.nn.bias_add(logits, biases, name="softmax/logits"), name="softmax")
    return graph.as_graph_def()


def tgz(members: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def graph_def():
    return stand_in_graph_def()


@pytest.fixture(scope="module")
def files(graph_def, tmp_path_factory):
    """The stand-in as a .pb and as the archive the real one comes in."""
    folder = tmp_path_factory.mktemp("weights")
    pb = graph_def.SerializeToString()
    (folder / "classify_image_graph_def.pb").write_bytes(pb)
    archive = tgz({"LICENSE": b"stand-in", "classify_image_graph_def.pb": pb, "cropped_panda.jpg": b"\xff\xd8"})
    (folder / "inception-2015-12-05.tgz").write_bytes(archive)
    return {"pb": folder / "classify_image_graph_def.pb", "tgz": folder / "inception-2015-12-05.tgz"}


@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    """An empty cache, no GANLAB_INCEPTION_WEIGHTS, and no network."""
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(inception.ENV, raising=False)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return tmp_path / "cache"


def part(shape=(4, 32, 32, 3)):
    return RealPart(np.zeros(shape, np.uint8), None, "toy")


def images(n=7, size=32, channels=3, seed=1):
    return np.random.default_rng(seed).random((n, size, size, channels))


def test_the_archive_and_the_pb_load_and_give_2048_features_and_probabilities(files, no_weights_anywhere):
    x = images(n=57)  # more than one batch of 50
    by_pb = inception.prepare(part(), {"weights": str(files["pb"])}, print)
    probs, features = by_pb.extract(x)
    assert features.shape == (57, 2048) and probs.shape == (57, 1008)
    assert features.dtype == probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert features.std(axis=0).max() > 0.01  # the images are told apart
    by_tgz = inception.prepare(part(), {"weights": str(files["tgz"])}, print)
    np.testing.assert_allclose(by_tgz.extract(x)[1], features, rtol=1e-6)
    record = by_tgz.provenance()
    assert record["extractor"] == "inception" and record["resize"] == "clean" and not by_tgz.data_classes
    assert record["weights"] == str(files["tgz"])
    assert record["sha256"] == hashlib.sha256(files["tgz"].read_bytes()).hexdigest()


def test_legacy_is_the_graph_run_one_image_at_a_time_and_probabilities_have_no_bias(files, graph_def):
    """TTUR's protocol: each uint8-valued image fed at ExpandDims:0; IS logits without softmax/biases."""
    x = images(n=3)
    probs, features = inception.prepare(part(), {"weights": str(files["pb"]), "resize": "legacy"}, print).extract(x)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        for i in range(3):
            quantised = np.round(x[i : i + 1] * 255).astype(np.uint8).astype(np.float32)
            pool, logits = session.run(["pool_3:0", "softmax/logits/MatMul:0"], {"ExpandDims:0": quantised})
            np.testing.assert_allclose(features[i], pool.reshape(-1), rtol=1e-4, atol=1e-5)
            expected = np.exp(logits[0] - logits[0].max())
            np.testing.assert_allclose(probs[i], expected / expected.sum(), rtol=1e-4, atol=1e-7)


def test_clean_and_legacy_differ_below_299_and_agree_at_299(files):
    small = images(n=4)
    clean = inception.prepare(part(), {"weights": str(files["pb"]), "resize": "clean"}, print)
    legacy = inception.prepare(part(), {"weights": str(files["pb"]), "resize": "legacy"}, print)
    difference = np.abs(clean.extract(small)[1] - legacy.extract(small)[1]).max()
    assert difference > 1e-3 * np.abs(legacy.extract(small)[1]).max()
    full = images(n=2, size=299)  # nothing to resize: both feed the same pixels
    np.testing.assert_allclose(clean.extract(full)[1], legacy.extract(full)[1], rtol=1e-5, atol=1e-6)


def test_images_are_quantised_to_uint8_and_grayscale_is_repeated_to_three_channels(files):
    extractor = inception.prepare(part((4, 32, 32, 1)), {"weights": str(files["pb"])}, print)
    gray = np.round(images(n=3, channels=1) * 255) / 255
    _, features = extractor.extract(gray)
    np.testing.assert_array_equal(extractor.extract(gray + 0.3 / 255)[1], features)  # rounds to the same values
    np.testing.assert_array_equal(extractor.extract(np.repeat(gray, 3, axis=-1))[1], features)
    assert np.abs(extractor.extract(gray + 1 / 255)[1] - features).max() > 0  # one level up is seen


def test_images_the_network_does_not_take_are_one_line(files):
    with pytest.raises(GanlabError, match=r"1 or 3 channels, these are 32x32x4: use --extractor classifier or ssl"):
        inception.prepare(part((4, 32, 32, 4)), {"weights": str(files["pb"])}, print)
    with pytest.raises(GanlabError, match=r"unknown Inception resize 'nearest': choose one of clean, legacy"):
        inception.prepare(part(), {"weights": str(files["pb"]), "resize": "nearest"}, print)


def test_missing_weights_offline_say_what_to_download_and_where(no_weights_anywhere, tmp_path):
    expected = no_weights_anywhere / "inception-2015-12-05.tgz"
    with pytest.raises(GanlabError) as caught:
        inception.prepare(part(), {}, print)
    message = str(caught.value)
    assert "\n" not in message and "no network in tests" in message
    assert inception.URL in message and str(expected) in message and inception.ENV in message
    assert not expected.exists()
    with pytest.raises(GanlabError, match=r"Inception weights .*nowhere.pb not found .*inception-2015-12-05.tgz"):
        inception.prepare(part(), {"weights": str(tmp_path / "nowhere.pb")}, print)


def test_a_cache_that_cannot_be_written_is_one_line_before_downloading(no_weights_anywhere, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GANLAB_CACHE", str(not_a_folder / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded before finding out"))
    with pytest.raises(GanlabError, match=r"cannot write ganlab's cache .*file/cache: .*set GANLAB_CACHE"):
        inception.prepare(part(), {}, print)


def test_the_environment_variable_names_the_weights(files, no_weights_anywhere, monkeypatch):
    monkeypatch.setenv(inception.ENV, str(files["tgz"]))
    assert inception.prepare(part(), {}, print).provenance()["weights"] == str(files["tgz"])


class Response(io.BytesIO):
    """What urlopen returns, serving fixed bytes."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_downloaded_once_into_the_cache_then_a_changed_file_fails_its_recorded_checksum(
    files, no_weights_anywhere, monkeypatch
):
    archive = files["tgz"].read_bytes()
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: calls.append(url) or Response(archive))
    first = inception.prepare(part(), {}, print)
    cached = no_weights_anywhere / "inception-2015-12-05.tgz"
    assert calls == [inception.URL] and cached.read_bytes() == archive
    assert first.provenance()["weights"] == str(cached)
    inception.prepare(part(), {}, print)
    assert len(calls) == 1  # the second time from the cache

    changed = bytearray(archive)
    changed[len(changed) // 2] ^= 0xFF
    cached.write_bytes(bytes(changed))
    with pytest.raises(GanlabError, match=r"inception-2015-12-05.tgz has sha256 .* recorded when it was downloaded"):
        inception.prepare(part(), {}, print)


def test_a_damaged_download_is_one_line_and_leaves_nothing_in_the_cache(files, no_weights_anywhere, monkeypatch):
    cut = files["tgz"].read_bytes()[:100_000]
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(cut))
    with pytest.raises(GanlabError, match=r"^the downloaded file is damaged or not the Inception graph"):
        inception.prepare(part(), {}, print)
    assert not no_weights_anywhere.exists() or not any(no_weights_anywhere.iterdir())


@pytest.mark.parametrize("kind", ["cut archive", "cut pb", "not a graph", "another graph", "archive without pb"])
def test_a_damaged_or_wrong_weights_file_is_one_line(files, tmp_path, kind):
    small = tf.Graph()
    with small.as_default():
        tf.constant(1.0, name="ExpandDims")
    content = {
        "cut archive": files["tgz"].read_bytes()[:-5000],
        "cut pb": files["pb"].read_bytes()[:-5000],
        "not a graph": b"<html>404 Not Found</html>",
        "another graph": small.as_graph_def().SerializeToString(),
        "archive without pb": tgz({"LICENSE": b"no graph here"}),
    }[kind]
    path = tmp_path / "weights.bin"
    path.write_bytes(content)
    expected = r"weights.bin is damaged or not the Inception graph \(.+\); download a good copy from"
    with pytest.raises(GanlabError, match=expected):
        inception.prepare(part(), {"weights": str(path)}, print)
