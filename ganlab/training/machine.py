"""What this machine offers a train step: the CPU and its bfloat16 support, TensorFlow's GPUs,
oneDNN's instruction set; what ``training.precision: auto`` and ``ganlab bench`` read.

The CPU comes from ``/proc/cpuinfo`` (model name and the flags that matter: ``amx_bf16``,
``avx512_bf16``, ``avx512f``) or, elsewhere, from ``platform``. Where the flags cannot be read
(macOS, Windows), a probe decides whether bfloat16 is fast: a bfloat16 and a float32 matrix
product timed without XLA in a child process, which also reports oneDNN's ISA line. The probe
runs once per machine: its result is cached in ganlab's cache under a hash of the CPU model, its
flags and the TensorFlow version, so later runs only read a small JSON file. GPUs need
TensorFlow to list, so they are asked for only where a model is about to be built anyway.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from ganlab.cache import cache_dir

#: The CPU flags the decision reads (``ganlab.training.auto_config``).
FLAGS = ("amx_bf16", "avx512_bf16", "avx512f")

#: oneDNN's ISA names (``ONEDNN_MAX_CPU_ISA``) in increasing order, from the first that lets
#: oneDNN use each flag: a cap below it means the flag's instructions go unused.
ISA_ORDER = (
    "SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
    "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "ALL",
)  # fmt: skip
FLAG_ISA = {"avx512f": "AVX512_CORE", "avx512_bf16": "AVX512_CORE_BF16", "amx_bf16": "AVX512_CORE_AMX"}

#: bfloat16 counts as fast on a CPU whose flags are unknown when the probe's bfloat16 matrix
#: product runs at least this many times the float32 one.
FAST_BF16_RATIO = 2.0

_PROBE = r"""
import json, time
import tensorflow as tf
size = 1024
def rate(dtype):
    a = tf.cast(tf.random.normal((size, size)), dtype)
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
print("GANLAB_PROBE " + json.dumps({"float32": rate("float32"), "bfloat16": rate("bfloat16")}), flush=True)
"""


def cpu(cpuinfo="/proc/cpuinfo", environ=os.environ) -> dict:
    """``{"cpu": model name, "flags": [the FLAGS it has] or None where they cannot be read}``.

    A flag whose instructions oneDNN is told not to use (``ONEDNN_MAX_CPU_ISA``, or the older
    ``DNNL_MAX_CPU_ISA``, below the flag's ISA) is left out: the CPU then computes as one
    without it, and that is also how docs/performance.md measures a CPU without AMX here.
    """
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return {"cpu": platform.processor() or platform.machine() or "unknown CPU", "flags": None}
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    have = set(fields.get("flags", "").split())
    model = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    if "flags" not in fields:
        return {"cpu": model, "flags": None}
    cap = _isa_cap(environ)
    usable = [f for f in FLAGS if f in have and ISA_ORDER.index(FLAG_ISA[f]) <= cap]
    return {"cpu": model, "flags": usable}


def _isa_cap(environ) -> int:
    """The position in ISA_ORDER of the oneDNN ISA cap set in ``environ`` (ALL where none or unknown)."""
    value = (environ.get("ONEDNN_MAX_CPU_ISA") or environ.get("DNNL_MAX_CPU_ISA") or "ALL").strip().upper()
    return ISA_ORDER.index(value) if value in ISA_ORDER else len(ISA_ORDER) - 1


def gpus() -> list:
    """TensorFlow's visible GPUs: ``[{"name": str, "compute_capability": [major, minor] or None}]``."""
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability")
        found.append(
            {
                "name": details.get("device_name", device.name),
                "compute_capability": list(capability) if capability else None,
            }
        )
    return found


def describe(with_gpus=True, probe=False) -> dict:
    """This machine, as ``auto_config.decide`` reads it.

    ``{"cpu": model, "flags": [...] or None, "gpus": [...], "onednn_isa": str or None,
    "matmul_gflops": {"float32": x, "bfloat16": y} or None}``. The probe (cached) runs when
    ``probe`` is set (``ganlab bench`` shows oneDNN's ISA) or the CPU flags are unknown.
    """
    machine = {**cpu(), "gpus": gpus() if with_gpus else [], "onednn_isa": None, "matmul_gflops": None}
    if probe or machine["flags"] is None:
        machine.update(_probed(machine))
    return machine


def bf16_fast_cpu(machine) -> bool:
    """Whether bfloat16 matrix products run much faster than float32 on this CPU: AMX, or the probe says so."""
    if machine["flags"] is not None:
        return "amx_bf16" in machine["flags"]
    rates = machine.get("matmul_gflops") or {}
    return bool(rates) and rates["bfloat16"] >= FAST_BF16_RATIO * rates["float32"]


def _probed(machine) -> dict:
    """``{"onednn_isa", "matmul_gflops"}`` from the cache, or from a probe written there."""
    key = json.dumps([machine["cpu"], machine["flags"], [g["name"] for g in machine["gpus"]], _tf_version()])
    path = cache_dir() / "machine" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    result = _probe()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result))
    except OSError:
        pass  # an unwritable cache costs a probe next time, nothing else
    return result


def _probe() -> dict:
    """Time the matrix products in a child process with oneDNN's verbose log on, for its ISA line."""
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return {"onednn_isa": None, "matmul_gflops": None}
    isa = rates = None
    for line in done.stdout.splitlines():
        if ",isa:" in line and line.startswith("onednn_verbose") and isa is None:
            isa = line.split(",isa:", 1)[1].strip()
        elif line.startswith("GANLAB_PROBE "):
            rates = json.loads(line.removeprefix("GANLAB_PROBE "))
    return {"onednn_isa": isa, "matmul_gflops": rates}


def _tf_version():
    try:
        return metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        return None
