"""`ganlab export`: every format, loaded by its own runtime in a process that never imports
ganlab, gives the Keras generator's images for the same z and labels (within ``TOLERANCE``)."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ganlab import GanlabError
from ganlab.components.loading import load_registry
from ganlab.export.exporter import TOLERANCE
from ganlab.export.formats import FORMATS, metadata_path
from ganlab.recipe.validate import validate
from tests import toy_plugins
from tests.conftest import run_cli

#: Imports the runtimes only (TensorFlow, onnxruntime, LiteRT), then reads the cases from stdin, loads each
#: artefact with its own runtime and prints the largest difference from the expected images; it fails if
#: anything imported ganlab. The imports come first so that they overlap the test process's training.
LOADER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import onnxruntime
    import tensorflow as tf
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter

    def savedmodel(path, inputs):
        served = tf.saved_model.load(path).signatures["serving_default"]
        return next(iter(served(**{k: tf.constant(v) for k, v in inputs.items()}).values())).numpy()

    def onnx(path, inputs):
        return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, inputs)[0]

    def litert(path, inputs):
        return next(iter(Interpreter(model_path=path).get_signature_runner()(**inputs).values()))

    differences = {}
    for case in json.loads(sys.stdin.read()):
        with np.load(case["arrays"]) as f:
            arrays = {k: f[k] for k in f.files}
        expected = arrays.pop("expected")
        images = globals()[case["format"]](case["path"], arrays)
        assert images.shape == expected.shape, (case, images.shape)
        differences[case["id"]] = float(np.abs(images - expected).max())
    assert not [m for m in sys.modules if m.split(".")[0] in ("ganlab", "ganlab_plugins")]
    print(json.dumps(differences))
    """
)


def recipe(reg, generator, discriminator, classes=0, **training):
    return validate(
        {
            "data": {"name": "noise", "n": 64, "classes": classes},
            "generator": generator,
            "discriminator": discriminator,
            "loss": "bce",
            "training": {"epochs": 1, "batch_size": 32, "latent_dim": 8, "jit_compile": False, **training},
            "output": {"checkpoint_every": 1, "grid": 2},
        },
        reg,
        source="export.yaml",
    )


def custom_layers_generator():
    """A generator made of ganlab's own layers that no first-party generator combines: InfoGAN's
    LatentModes, SpectralNorm (D's, here in G) and HashDropout."""
    import keras

    from ganlab.training.layers import HashDropout, LatentModes
    from ganlab.training.spectral_norm import SpectralNorm

    z = keras.Input((8,), name="z")
    h = SpectralNorm(keras.layers.Dense(16))(LatentModes(3)(z))
    h = keras.layers.Activation("tanh")(HashDropout(0.3)(h))
    return keras.Model(z, keras.layers.Reshape((4, 4, 1))(h), name="custom")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The run (a conditional SNGAN: class-conditional batch norm, labels as the second input,
    EMA, trained in bfloat16), {format: the path ``Run.export`` returned}, and {case id: largest
    difference}, from one fresh process, for every format of its generator and of
    ``custom_layers_generator``."""
    import importlib

    import ganlab
    from ganlab.export.exporter import float32_copy
    from ganlab.rundir import RunDir, load_generator
    from ganlab.training.run import train

    loader = subprocess.Popen(  # started first: it imports the runtimes while this process trains
        [sys.executable, "-c", LOADER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        root = tmp_path_factory.mktemp("export")
        reg = load_registry(plugins=[("toolkit", toy_plugins.Toolkit())])
        run_dir = train(
            recipe(reg, {"name": "csngan", "width": 8}, {"name": "cmlp", "hidden": [16]}, classes=3, ema=0.9,
                   precision="mixed_bfloat16"),
            out=root / "run",
        )
        rng = np.random.default_rng(1)
        z, labels = rng.standard_normal((5, 8)).astype(np.float32), np.array([2, 0, 1, 1, 2], np.int32)
        cases, paths = [], {}

        def add(case_id, fmt, path, model, inputs):
            arrays = root / f"{case_id}.npz"
            expected = np.asarray(model(list(inputs.values()) if len(inputs) > 1 else z, training=False))
            np.savez(arrays, expected=expected, **inputs)
            cases.append({"id": case_id, "format": fmt, "path": str(path), "arrays": str(arrays)})

        run = ganlab.load_run(run_dir)
        conditional = float32_copy(load_generator(RunDir(run_dir).generator))
        custom = custom_layers_generator()
        custom(z)  # Keras exports only a model that has been called
        for fmt, spec in FORMATS.items():
            paths[fmt] = run.export(fmt)
            add(f"conditional-{fmt}", fmt, paths[fmt], conditional, {"z": z, "labels": labels})
            importlib.import_module(spec.module).write(custom, root / f"custom{spec.suffix}")
            add(f"custom-{fmt}", fmt, root / f"custom{spec.suffix}", custom, {"z": z})
        out, err = loader.communicate(json.dumps(cases), timeout=300)
    finally:
        loader.kill()  # nothing once it has exited; after a failure above, it is not left waiting
    assert loader.returncode == 0, err[-3000:]
    return {"run": run_dir, "paths": paths, "differences": json.loads(out.strip().splitlines()[-1])}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("model", ["conditional", "custom"])
def test_each_format_gives_the_keras_images_in_a_process_without_ganlab(exported, model, fmt):
    assert exported["differences"][f"{model}-{fmt}"] <= TOLERANCE


def test_run_export_returns_the_artefact_it_wrote_in_the_run_directory(exported):
    assert exported["paths"] == {fmt: exported["run"] / "export" / spec.default for fmt, spec in FORMATS.items()}
    assert all(metadata_path(path).is_file() for path in exported["paths"].values())


def test_metadata_says_how_to_feed_and_read_the_artefact(exported):
    meta = json.loads(metadata_path(exported["run"] / "export" / "generator.onnx").read_text())
    assert [i["name"] for i in meta["inputs"]] == ["z", "labels"] and meta["inputs"][1]["dtype"] == "int32"
    assert meta["latent_dim"] == 8 and meta["noise"] == "normal" and meta["num_classes"] == 3
    assert meta["output_range"] == [-1.0, 1.0] and meta["layout"] == "NHWC" and meta["image_shape"] == [8, 8, 1]
    assert meta["trained_precision"] == "mixed_bfloat16" and meta["weights"] == "ema" and meta["info_modes"] == 0
    assert meta["check"]["max_abs_difference"] <= meta["check"]["tolerance"] == TOLERANCE
    provenance = meta["provenance"]
    assert provenance["step"] == 2 and provenance["epoch"] == 1 and len(provenance["recipe_sha256"]) == 64
    assert provenance["trained_with"]["components"]["generator"].startswith("sngan:csngan")


def test_the_cli_replaces_an_export_and_leaves_no_temp_files(exported, capsys):
    from ganlab.cli import main

    assert main(["export", str(exported["run"]), "--format", "savedmodel"]) == 0
    assert f"wrote {exported['run'] / 'export' / 'generator_savedmodel'}" in capsys.readouterr().out
    assert sorted(p.name for p in (exported["run"] / "export").iterdir()) == [
        "generator.onnx", "generator.onnx.json", "generator.tflite", "generator.tflite.json",
        "generator_savedmodel", "generator_savedmodel.json",
    ]


def test_a_layer_a_format_cannot_carry_is_named_in_one_line(tmp_path):
    import keras
    import tensorflow as tf

    from ganlab.export import litert, onnx
    from ganlab.export.exporter import blame
    from ganlab.export.formats import CannotCarry

    class Singular(keras.layers.Layer):
        def call(self, x):
            return x + tf.reduce_sum(tf.linalg.svd(tf.reshape(x, (-1, 2, 4)), compute_uv=False))

    z = keras.Input((8,), name="z")
    model = keras.Model(z, Singular(name="singular")(keras.layers.Dense(8)(z)))
    model(np.zeros((1, 8), np.float32))  # Keras exports only a model that has been called
    for fmt, module in (("onnx", onnx), ("litert", litert)):
        with pytest.raises(CannotCarry) as refused:
            module.write(model, tmp_path / f"x{FORMATS[fmt].suffix}")
        line = blame(model, refused.value, fmt)
        assert line.startswith(f"layer 'singular' (Singular) uses the TensorFlow operation Svd, which {fmt} cannot")


def test_a_missing_extra_is_one_line_naming_what_to_install(exported, monkeypatch):
    from ganlab.export.exporter import export_run

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(GanlabError) as refused:
        export_run(exported["run"], "onnx", "/nonexistent/g.onnx")
    assert refused.value.lines == [
        "--format onnx needs onnxruntime, which is not installed: pip install 'ganlab[onnx]'"
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "litert", "-o", "g.onnx"], "-o g.onnx: a litert file must end in .tflite"),
        (["--format", "onnx", "-o", "missing/g.onnx"], "folder missing does not exist"),
        (["--format", "onnx", "-o", "/proc/g.onnx"], "-o /proc/g.onnx: cannot write in /proc"),
        (["--format", "tflite"], "argument --format: invalid choice: 'tflite'"),
    ],
)
def test_bad_export_flags_are_one_line(exported, tmp_path, args, message):
    result = run_cli("export", exported["run"], *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
