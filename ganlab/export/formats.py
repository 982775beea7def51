"""The export formats: for each, the module that writes and runs it, its default file name,
and the pip extra that installs what it needs. Imports neither TensorFlow nor numpy, so the
CLI can offer the names at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    """One export format: the module that writes and runs it, its default file name, and the pip
    extra that installs the modules it needs (``requires``)."""

    module: str  # has write(model, path) and run(path, inputs) -> {output name: array}
    default: str  # file (or folder) name under RUN/export/
    suffix: str  # what -o must end with ("" for a folder)
    extra: str | None = None
    requires: tuple[str, ...] = ()


FORMATS = {
    "savedmodel": Format("ganlab.export.savedmodel", "generator_savedmodel", ""),
    "onnx": Format("ganlab.export.onnx", "generator.onnx", ".onnx", "onnx", ("tf2onnx", "onnx", "onnxruntime")),
    "litert": Format("ganlab.export.litert", "generator.tflite", ".tflite"),
}


class CannotCarry(Exception):
    """Raised by a format's ``write``: the converter has no equivalent for the TensorFlow operation
    ``op`` found at graph path ``where`` (``model/layer/.../Op``)."""

    def __init__(self, where: str, op: str):
        super().__init__(f"{where}: {op}")
        self.where, self.op = where, op


def metadata_path(path) -> Path:
    """The JSON file written beside an artefact: ``generator.onnx`` -> ``generator.onnx.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")
