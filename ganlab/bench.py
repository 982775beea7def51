"""``ganlab bench``: how fast a recipe's train step runs, and how close to this machine's peak;
``--compare``: the candidate configurations (precision x XLA x steps per execution) side by side.

Model FLOP utilisation (MFU) is the train step's FLOPs, counted from the layer shapes of
G and D, times steps per second, divided by the FLOP rate of a large matrix product in the
dtype the step computes in (bfloat16 steps against a bfloat16 peak), measured in the same
process just before, with and without XLA, the better of the two. Measuring the peak in the
same run keeps the ratio meaningful on a noisy, shared machine.

``--compare`` builds each configuration once and times them in turns of short slices
(round robin), so that load from other processes falls on all of them alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import resource
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from ganlab.errors import GanlabError
from ganlab.training import auto_config, machine
from ganlab.training.assemble import build_model, load_data, num_classes
from ganlab.training.layers import leaf_layers
from ganlab.training.stream import real_stream

PEAK_SIZE = 2048

#: ``--compare``'s candidates besides the precisions: XLA on and off, 1 and 10 steps per execution.
JIT_CHOICES = (True, False)
STEPS_PER_EXECUTION_CHOICES = (1, 10)

#: ``--compare`` times each configuration in this many turns, each round starting one
#: configuration later so that none always follows the same one.
ROUNDS = 5

#: The compute dtype of each precision, for its matmul peak.
COMPUTE_DTYPE = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def forward_flops(model) -> int:
    """FLOPs of one forward pass for one example: 2 x multiply-adds of the layers with kernels.

    Dense and convolution layers carry nearly all the arithmetic of a GAN; element-wise
    layers (activations, batch norm) are left out.
    """
    total = 0
    for layer in leaf_layers(model):
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        size = int(np.prod(kernel.shape))
        name = type(layer).__name__
        if name.startswith("Conv") and "Transpose" in name:
            positions = int(np.prod(layer.input.shape[1:-1]))
        elif name.startswith("Conv"):
            positions = int(np.prod(layer.output.shape[1:-1]))
        else:  # Dense: once per position of any leading (non-batch) axes
            positions = int(np.prod(layer.output.shape[1:-1])) if len(layer.output.shape) > 2 else 1
        total += 2 * size * positions
    return total


def step_flops(generator, discriminator, batch_size, d_steps) -> int:
    """FLOPs of one train step: k D updates, then one AM update.

    Backward passes cost about twice the forward pass (gradients for inputs and for
    weights). D step: G forward on B, D forward+backward on 2B. AM step: G forward+
    backward on B, D forward plus the input-gradient half of its backward on B.
    """
    g, d = forward_flops(generator), forward_flops(discriminator)
    d_update = batch_size * (g + 3 * d * 2)
    am_update = batch_size * (3 * g + 2 * d)
    return d_steps * d_update + am_update


def peak_flops(dtype="float32", size=PEAK_SIZE, repeats=10) -> float:
    """FLOP/s of a square matrix product in ``dtype``, best of ``repeats`` with XLA and without.

    Both, because the fast kernels differ by dtype: on a CPU with AMX, oneDNN's bfloat16
    product (no XLA) is several times XLA's.
    """
    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    best = math.inf
    for jit in (True, False):
        matmul = tf.function(lambda x, y: tf.matmul(x, y), jit_compile=jit)
        matmul(a, b).numpy()
        for _ in range(repeats):
            start = time.perf_counter()
            matmul(a, b).numpy()
            best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def peak_rss_bytes() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage if sys.platform == "darwin" else usage * 1024


def hardware(described) -> str:
    """One line naming what the step ran on: the GPU, or the CPU with its flags and oneDNN's ISA."""
    if described["gpus"]:
        return ", ".join(
            f"{g['name']} (compute capability {'.'.join(map(str, g['compute_capability'] or ['?']))})"
            for g in described["gpus"]
        )
    flags = "flags unknown" if described["flags"] is None else " ".join(described["flags"]) or "no AVX-512/AMX flags"
    isa = f"; oneDNN: {described['onednn_isa']}" if described.get("onednn_isa") else ""
    return f"{described['cpu']} ({flags}){isa}"


class _Timed:
    """One configuration of a recipe, built once, that runs whole executions of its train step."""

    def __init__(self, recipe, data, steps):
        t = recipe["training"]
        keras.utils.set_random_seed(t["seed"])
        self.recipe, self.per_call = recipe, t["steps_per_execution"]
        classes = num_classes(recipe, data)
        self.model = build_model(recipe, data.image_shape, self.per_call, total_steps=steps, classes=classes)
        output_range = getattr(self.model.generator, "output_range", (-1.0, 1.0))
        self.images_per_step = t["batch_size"] * t["d_steps"]
        labels = None if classes is None else data.labels
        self.stream = iter(real_stream(data.images, self.images_per_step, t["seed"], output_range, labels=labels))
        self.model.make_train_function()
        self.flops = step_flops(self.model.generator, self.model.discriminator, t["batch_size"], t["d_steps"])
        self.steps = 0
        self.seconds = 0.0

    def run(self, executions):
        """Run ``executions`` executions; seconds taken, to the end of the last."""
        start = time.perf_counter()
        for _ in range(executions):
            logs = self.model.train_function(self.stream)
        float(logs["d_loss"])  # waits for the last execution to finish
        return time.perf_counter() - start

    def timed(self, steps):
        """Time whole executions covering at least ``steps`` steps; added to this configuration's totals."""
        executions = max(1, math.ceil(steps / self.per_call))
        self.seconds += self.run(executions)
        self.steps += executions * self.per_call


def _decided(recipe, data, described):
    classes = num_classes(recipe, data)
    return auto_config.resolve(recipe, data.image_shape, classes, machine=described, num_images=len(data))


def bench(recipe, steps=100, started=None) -> dict:
    """Time ``steps`` train steps of ``recipe`` after a compiled warm-up execution."""
    if steps < 1:
        raise GanlabError(f"--steps {steps}: time at least 1 step")
    started = time.perf_counter() if started is None else started
    described = machine.describe(probe=True)
    data = load_data(recipe)
    recipe, note = _decided(recipe, data, described)
    t = recipe["training"]
    peak = peak_flops(COMPUTE_DTYPE[t["precision"]])
    start = time.perf_counter()
    timed = _Timed(recipe, data, steps)
    timed.run(1)
    first_step = time.perf_counter()
    timed.run(1)  # one more untimed execution: caches warm, pipeline full
    timed.timed(steps)
    step_time = timed.seconds / timed.steps
    return {
        "recipe": recipe.source,
        "batch_size": t["batch_size"],
        "d_steps": t["d_steps"],
        "steps_per_execution": timed.per_call,
        "jit_compile": t["jit_compile"],
        "precision": t["precision"],
        "auto": note,
        "hardware": hardware(described),
        "steps": timed.steps,
        "steps_per_second": timed.steps / timed.seconds,
        "images_per_second": timed.steps * timed.images_per_step / timed.seconds,
        "compile_seconds": first_step - start - timed.per_call * step_time,
        "time_to_first_step_seconds": first_step - started,
        "peak_rss_bytes": peak_rss_bytes(),
        "step_gflop": timed.flops / 1e9,
        "achieved_gflops": timed.flops / step_time / 1e9,
        "peak_matmul_gflops": peak / 1e9,
        "mfu": timed.flops / step_time / peak,
    }


def candidates(described) -> list:
    """The (precision, jit_compile, steps_per_execution) configurations ``--compare`` times."""
    precisions = ["float32", "mixed_bfloat16"] + (["mixed_float16"] if described["gpus"] else [])
    return [(p, j, s) for p in precisions for j in JIT_CHOICES for s in STEPS_PER_EXECUTION_CHOICES]


class _RetracingFilter(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_retracing():
    """Without TensorFlow's retracing warning: ``--compare`` builds one model per configuration in
    one process, and TensorFlow counts their first traces together as excessive retracing, a
    warning about the comparison's own set-up that a user can do nothing about."""
    quiet, logger = _RetracingFilter(), tf.get_logger()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def compare(recipe, steps=100) -> dict:
    """Time every candidate configuration (and the auto choice) for ``steps`` steps each, interleaved."""
    if steps < 1:
        raise GanlabError(f"--steps {steps}: time at least 1 step")
    described = machine.describe(probe=True)
    data = load_data(recipe)
    resolved, note = _decided(recipe, data, described)
    t = resolved["training"]
    chosen = (t["precision"], t["jit_compile"], t["steps_per_execution"])
    configs = candidates(described)
    if chosen not in configs:
        configs.append(chosen)
    timed = {}
    with _quiet_retracing():
        for config in configs:
            precision, jit, per_call = config
            training = dict(recipe["training"], precision=precision, jit_compile=jit, steps_per_execution=per_call)
            timed[config] = _Timed(dataclasses.replace(recipe, data={**recipe.data, "training": training}), data, steps)
            timed[config].run(2)  # compiled, caches warm
    order = list(timed.values())
    for each in order:  # once more after the last build: each model's first run after it is ~30% slower
        each.run(1)
    for turn in range(ROUNDS):
        for each in order[turn % len(order) :] + order[: turn % len(order)]:
            each.timed(steps / ROUNDS)
    peaks = {p: peak_flops(COMPUTE_DTYPE[p]) for p in sorted({c[0] for c in configs})}
    base = timed[chosen].steps / timed[chosen].seconds
    rows = []
    for (precision, jit, per_call), each in timed.items():
        rate = each.steps / each.seconds
        rows.append(
            {
                "precision": precision,
                "jit_compile": jit,
                "steps_per_execution": per_call,
                "auto": (precision, jit, per_call) == chosen,
                "steps_per_second": rate,
                "images_per_second": rate * each.images_per_step,
                "vs_auto": rate / base,
                "mfu": each.flops * rate / peaks[precision],
            }
        )
    return {
        "recipe": recipe.source,
        "batch_size": t["batch_size"],
        "d_steps": t["d_steps"],
        "steps": steps,
        "rounds": ROUNDS,
        "auto": note,
        "hardware": hardware(described),
        "peak_matmul_gflops": {p: v / 1e9 for p, v in peaks.items()},
        "rows": rows,
    }


def report(result) -> str:
    r = result
    lines = [
        f"recipe               {r['recipe']} (batch {r['batch_size']}, k={r['d_steps']}, "
        f"steps_per_execution {r['steps_per_execution']}, jit {r['jit_compile']}, {r['precision']})",
    ]
    if r["auto"]:
        lines.append(f"auto                 {r['auto']}")
    return "\n".join(
        lines
        + [
            f"hardware             {r['hardware']}",
            f"steps/s              {r['steps_per_second']:.1f}  "
            f"({1000 / r['steps_per_second']:.2f} ms/step over {r['steps']} steps)",
            f"images/s             {r['images_per_second']:.0f}  (real images consumed by D)",
            f"time to first step   {r['time_to_first_step_seconds']:.1f} s  (compile {r['compile_seconds']:.1f} s)",
            f"peak resident memory {r['peak_rss_bytes'] / 2**30:.2f} GiB",
            f"model FLOPs          {r['step_gflop']:.2f} GFLOP/step -> {r['achieved_gflops']:.0f} GFLOP/s",
            f"peak matmul          {r['peak_matmul_gflops']:.0f} GFLOP/s "
            f"({COMPUTE_DTYPE[r['precision']]}, {PEAK_SIZE}x{PEAK_SIZE}, this process)",
            f"MFU                  {r['mfu']:.0%}",
        ]
    )


def compare_report(result) -> str:
    """``--compare``'s table: one row per configuration, the auto choice marked with ``*``."""
    r = result
    peaks = ", ".join(f"{COMPUTE_DTYPE[p]} {v:.0f}" for p, v in r["peak_matmul_gflops"].items())
    lines = [
        f"recipe    {r['recipe']} (batch {r['batch_size']}, k={r['d_steps']}; {r['steps']} steps each, "
        f"interleaved in {r['rounds']} turns)",
        f"hardware  {r['hardware']}",
        f"peaks     {peaks} GFLOP/s (matmul {PEAK_SIZE}x{PEAK_SIZE}, this process)",
        f"auto      {r['auto'] or 'nothing to decide: the recipe sets precision and jit_compile'}",
        "",
        f"  {'precision':<15}{'jit':<7}{'spe':>4}{'steps/s':>10}{'images/s':>10}{'vs auto':>9}{'MFU':>6}",
    ]
    for row in r["rows"]:
        mark = "*" if row["auto"] else " "
        lines.append(
            f"{mark} {row['precision']:<15}{str(row['jit_compile']).lower():<7}{row['steps_per_execution']:>4}"
            f"{row['steps_per_second']:>10.1f}{row['images_per_second']:>10.0f}{row['vs_auto']:>8.2f}x"
            f"{row['mfu']:>6.0%}"
        )
    return "\n".join(lines)
