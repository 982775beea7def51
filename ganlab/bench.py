"""``ganlab bench``: how fast a recipe's train step runs, and how close to this CPU's peak.

Model FLOP utilisation (MFU) is the train step's FLOPs, counted from the layer shapes of
G and D, times steps per second, divided by the FLOP rate of a large float32 matrix
product measured in the same process just before. Measuring the peak in the same run
keeps the ratio meaningful on a noisy, shared machine.
"""

from __future__ import annotations

import math
import resource
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from ganlab.errors import GanlabError
from ganlab.training.assemble import build_model, load_data, num_classes
from ganlab.training.layers import leaf_layers
from ganlab.training.stream import real_stream

PEAK_SIZE = 2048


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
    """FLOP/s of an XLA-compiled square matrix product, best of ``repeats``."""
    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    matmul = tf.function(lambda x, y: tf.matmul(x, y), jit_compile=True)
    matmul(a, b).numpy()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def peak_rss_bytes() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage if sys.platform == "darwin" else usage * 1024


def bench(recipe, steps=100, started=None) -> dict:
    """Time ``steps`` train steps of ``recipe`` after a compiled warm-up execution."""
    if steps < 1:
        raise GanlabError(f"--steps {steps}: time at least 1 step")
    started = time.perf_counter() if started is None else started
    t = recipe["training"]
    peak = peak_flops()
    data = load_data(recipe)
    keras.utils.set_random_seed(t["seed"])
    per_call = t["steps_per_execution"]
    classes = num_classes(recipe, data)
    model = build_model(recipe, data.image_shape, per_call, total_steps=steps, classes=classes)
    output_range = getattr(model.generator, "output_range", (-1.0, 1.0))
    images_per_step = t["batch_size"] * t["d_steps"]
    labels = None if classes is None else data.labels
    stream = iter(real_stream(data.images, images_per_step, t["seed"], output_range, labels=labels))
    model.make_train_function()
    train = model.train_function

    def run(executions):
        for _ in range(executions):
            logs = train(stream)
        return float(logs["d_loss"])  # waits for the last execution to finish

    start = time.perf_counter()
    run(1)
    first_step = time.perf_counter()
    executions = max(1, math.ceil(steps / per_call))
    run(1)  # one more untimed execution: caches warm, pipeline full
    timed_start = time.perf_counter()
    run(executions)
    elapsed = time.perf_counter() - timed_start
    steps_done = executions * per_call
    step_time = elapsed / steps_done
    flops = step_flops(model.generator, model.discriminator, t["batch_size"], t["d_steps"])
    return {
        "recipe": recipe.source,
        "batch_size": t["batch_size"],
        "d_steps": t["d_steps"],
        "steps_per_execution": per_call,
        "jit_compile": t["jit_compile"],
        "precision": t.get("precision", "float32"),
        "steps": steps_done,
        "steps_per_second": steps_done / elapsed,
        "images_per_second": steps_done * images_per_step / elapsed,
        "compile_seconds": first_step - start - per_call * step_time,
        "time_to_first_step_seconds": first_step - started,
        "peak_rss_bytes": peak_rss_bytes(),
        "step_gflop": flops / 1e9,
        "achieved_gflops": flops / step_time / 1e9,
        "peak_matmul_gflops": peak / 1e9,
        "mfu": flops / step_time / peak,
    }


def report(result) -> str:
    r = result
    return "\n".join(
        [
            f"recipe               {r['recipe']} (batch {r['batch_size']}, k={r['d_steps']}, "
            f"steps_per_execution {r['steps_per_execution']}, jit {r['jit_compile']}, {r['precision']})",
            f"steps/s              {r['steps_per_second']:.1f}  "
            f"({1000 / r['steps_per_second']:.2f} ms/step over {r['steps']} steps)",
            f"images/s             {r['images_per_second']:.0f}  (real images consumed by D)",
            f"time to first step   {r['time_to_first_step_seconds']:.1f} s  (compile {r['compile_seconds']:.1f} s)",
            f"peak resident memory {r['peak_rss_bytes'] / 2**30:.2f} GiB",
            f"model FLOPs          {r['step_gflop']:.2f} GFLOP/step -> {r['achieved_gflops']:.0f} GFLOP/s",
            f"peak matmul          {r['peak_matmul_gflops']:.0f} GFLOP/s "
            f"(float32, {PEAK_SIZE}x{PEAK_SIZE}, this process)",
            f"MFU                  {r['mfu']:.0%}",
        ]
    )
