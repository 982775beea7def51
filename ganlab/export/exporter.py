"""``ganlab export``'s work: check the flags, export the generator, check the artefact, write its metadata.

The generator is the run's ``generator.keras`` (the averaged weights when the run used EMA),
exported through Keras' ``Model.export`` by the format's module (``formats.FORMATS``). A
conditional generator takes the labels as its second input. The artefact is written to a temporary path,
run with its own runtime on a few z and compared with the Keras generator (``TOLERANCE``), and
only then moved into place, so a failed export leaves an older artefact as it was.

This module imports neither TensorFlow nor numpy at import time; ``check`` refuses bad flags
and missing optional packages first, in one line each.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from ganlab import __version__
from ganlab.errors import GanlabError, one_line
from ganlab.export.formats import FORMATS, CannotCarry, metadata_path
from ganlab.rundir import RunDir, atomic_path, read_stored_recipe, stored_num_classes, stored_output_range, temp_path

#: Where ``ganlab export`` writes by default, inside the run directory.
FOLDER = "export"
#: The largest absolute difference allowed between the artefact's and the Keras generator's outputs.
TOLERANCE = 1e-4
#: How many z (and labels) the export check runs through both.
CHECKED = 8


def check(run_dir, fmt: str, output=None) -> Path:
    """The artefact's path, after refusing what cannot work, before TensorFlow is imported."""
    run_dir = Path(run_dir)
    if fmt not in FORMATS:
        raise GanlabError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    spec = FORMATS[fmt]
    missing = [name for name in spec.requires if importlib.util.find_spec(name) is None]
    if missing:
        raise GanlabError(
            f"--format {fmt} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed: "
            f"pip install 'ganlab[{spec.extra}]'"
        )
    files = RunDir(run_dir)
    if not files.recipe.is_file():
        raise GanlabError(f"{run_dir}: no {files.recipe.name}; is it a ganlab run directory?")
    path = Path(output) if output is not None else run_dir / FOLDER / spec.default
    if spec.suffix and path.suffix.lower() != spec.suffix:
        raise GanlabError(f"-o {path}: a {fmt} file must end in {spec.suffix}")
    if output is not None and not path.parent.is_dir():
        raise GanlabError(f"-o {path}: folder {path.parent} does not exist")
    if path.parent.is_dir():
        try:  # a folder that takes no new file (read-only, /proc) fails here, not after the conversion
            tempfile.TemporaryFile(dir=path.parent).close()
        except OSError as exc:
            raise GanlabError(f"-o {path}: cannot write in {path.parent}: {exc.strerror or exc}") from None
    other = path.is_dir() if spec.suffix else path.exists() and not (path / "saved_model.pb").is_file()
    if other:  # a folder where a file goes, or something other than a SavedModel where one goes
        raise GanlabError(f"-o {path}: it exists and is not a {fmt} export; choose another path")
    return path


def export_run(run_dir, fmt: str, output=None, registry=None) -> Path:
    """Export ``run_dir``'s generator as ``fmt`` to ``output`` (default RUN/export/...); returns its path.

    The metadata JSON (``metadata_path``) beside it records the inputs, the latent size and noise,
    the output range and layout, the classes, the export check and the run's provenance.
    """
    import numpy as np

    from ganlab.sampling import cycling_labels, fixed_z, generators

    run_dir = Path(run_dir)
    path = check(run_dir, fmt, output)
    module = importlib.import_module(FORMATS[fmt].module)
    files = RunDir(run_dir)
    recipe = read_stored_recipe(files.recipe)
    training, classes = recipe["training"], stored_num_classes(files.recipe)
    trained = generators(run_dir, registry, extra=False)["generator"]
    model = float32_copy(trained)
    arrays = [fixed_z(training["latent_dim"], CHECKED, training["noise"], seed=0)]
    if classes is not None:
        arrays.append(cycling_labels(CHECKED, classes))
    feed = {tensor.name: array for tensor, array in zip(model.inputs, arrays)}
    expected = np.asarray(model(arrays if classes is not None else arrays[0], training=False), np.float64)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    _remove(tmp)
    try:
        try:
            module.write(model, tmp)
        except CannotCarry as exc:
            raise GanlabError(f"--format {fmt}: {blame(model, exc, fmt)}") from None
        except Exception as exc:  # noqa: BLE001  (whatever a converter raises)
            raise GanlabError(f"--format {fmt}: the converter failed: {one_line(exc)[:300]}") from None
        try:
            ((output_name, got),) = module.run(tmp, feed).items()
        except Exception as exc:  # noqa: BLE001  (whatever a runtime raises for a graph it cannot run)
            raise GanlabError(f"--format {fmt}: the export does not run in its own runtime: {one_line(exc)[:300]}") \
                from None
        difference = float(np.abs(np.asarray(got, np.float64) - expected).max())
        if not difference <= TOLERANCE:
            raise GanlabError(
                f"--format {fmt}: the exported generator's outputs differ from the Keras generator's by "
                f"{difference:.3g} (more than {TOLERANCE:g}); nothing was written"
            )
        _place(tmp, path)
    finally:
        _remove(tmp)
    meta = {
        "format": fmt,
        "file": path.name,
        "inputs": [_spec(tensor) for tensor in model.inputs],
        "output": {"name": output_name, "shape": [None, *map(int, model.output_shape[1:])], "dtype": "float32"},
        "latent_dim": training["latent_dim"],
        "noise": training["noise"],
        "info_modes": training.get("info_modes") or 0,
        "output_range": list(stored_output_range(files.recipe)),
        "layout": "NHWC",
        "image_shape": [int(d) for d in model.output_shape[1:]],
        "num_classes": classes,
        "weights": "ema" if training.get("ema") else "raw",
        "trained_precision": _precision(trained),
        "check": {"z": CHECKED, "seed": 0, "max_abs_difference": difference, "tolerance": TOLERANCE},
        "provenance": _provenance(run_dir, recipe),
    }
    with atomic_path(metadata_path(path)) as tmp_meta:
        tmp_meta.write_text(json.dumps(meta, indent=1) + "\n")
    return path


def float32_copy(model):
    """``model`` with every layer computing in float32, sharing nothing with it but the weights' values.

    A mixed-precision generator (``training.precision``) keeps float32 weights but computes in
    bfloat16 or float16, which the converters do not carry alike (tf2onnx writes graphs that mix
    the two types), and whose rounding differs between Keras and any other runtime far beyond
    ``TOLERANCE``. Exports are float32 everywhere; a float32 model is returned as it is.
    """
    import keras

    if _precision(model) == "float32":
        return model
    config = _float32_policies(keras.saving.serialize_keras_object(model))
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy


def _precision(model) -> str:
    """"float32", or the mixed-precision policy's name of the first layer that computes otherwise."""
    for layer in model._flatten_layers(include_self=False):
        policy = getattr(layer, "dtype_policy", None)
        if policy is not None and policy.compute_dtype != "float32" and layer.__class__.__name__ != "InputLayer":
            return policy.name
    return "float32"


def _float32_policies(config):
    if isinstance(config, dict):
        policy = config.get("class_name", "").endswith("DTypePolicy")
        if policy and config["config"].get("name", "").startswith("mixed"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    return config


def _spec(tensor) -> dict:
    return {"name": tensor.name, "shape": [None if d is None else int(d) for d in tensor.shape], "dtype": tensor.dtype}


def _provenance(run_dir, recipe) -> dict:
    import keras
    import tensorflow as tf

    from ganlab.model_card import progress

    return {
        "run_dir": str(Path(run_dir).resolve()),
        "recipe_sha256": hashlib.sha256(RunDir(run_dir).recipe.read_bytes()).hexdigest(),
        **progress(run_dir),
        "trained_with": recipe.get("provenance") or {},
        "exported_with": {"ganlab": __version__, "tensorflow": tf.__version__, "keras": keras.__version__},
        "exported": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def blame(model, exc: CannotCarry, fmt: str) -> str:
    """One line naming the layer whose operation the format cannot carry (the innermost layer on its graph path)."""
    layers = {layer.name: layer for layer in model._flatten_layers(include_self=False)}
    for segment in reversed(exc.where.split("/")):
        named = [name for name in layers if segment == name or re.fullmatch(rf"{re.escape(name)}_\d+", segment)]
        if named:
            layer = layers[max(named, key=len)]
            return (
                f"layer '{layer.name}' ({type(layer).__name__}) uses the TensorFlow operation {exc.op}, which {fmt} "
                "cannot carry; export another format (savedmodel carries every operation)"
            )
    return f"the TensorFlow operation {exc.op} ({exc.where}) cannot be carried by {fmt}; export another format"


def _place(tmp: Path, path: Path):
    """Move the checked artefact into place; an older SavedModel folder is replaced whole."""
    if not path.is_dir():
        os.replace(tmp, path)
        return
    old = path.with_name(f".{path.name}.old")
    _remove(old)
    os.replace(path, old)
    os.replace(tmp, path)
    _remove(old)


def _remove(path: Path):
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
