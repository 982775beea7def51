"""How fast one MLP layer of the vanilla G's kind could train on this CPU, by backend.

A 128 x 1024 x 1024 matrix product followed by bias, batch norm (training statistics) and
LeakyReLU, six layers deep, forward and backward, timed five ways: float32 and bfloat16
without XLA, both under XLA, and a hybrid that runs the bfloat16 products on oneDNN (no
XLA) and each layer's element-wise ops as one XLA-compiled function. docs/performance.md
("What the dense step would need") reports its figures; run it with nothing else on the
machine: ``python docs/examples/hybrid_layer_probe.py``.
"""

import time

import tensorflow as tf

LAYERS = 6
x0 = tf.random.normal((128, 1024))
kernels = [tf.Variable(tf.random.normal((1024, 1024)) * 0.03) for _ in range(LAYERS)]
gamma, beta = tf.Variable(tf.ones((1024,))), tf.Variable(tf.zeros((1024,)))
bias = tf.Variable(tf.zeros((1024,)))


def after_product(h):
    """Bias, batch norm and LeakyReLU in float32: the element-wise part of a layer."""
    h = tf.cast(h, tf.float32) + bias
    mean, variance = tf.nn.moments(h, [0])
    h = (h - mean) * tf.math.rsqrt(variance + 1e-3) * gamma + beta
    return tf.nn.leaky_relu(h, 0.2)


def train_step(dtype, elementwise):
    def step(x):
        with tf.GradientTape() as tape:
            h = x
            for kernel in kernels:
                h = elementwise(tf.matmul(tf.cast(h, dtype), tf.cast(kernel, dtype)))
            loss = tf.reduce_sum(h)
        return tape.gradient(loss, [*kernels, gamma, beta, bias])

    return step


def microseconds_per_layer(step, repeats=7):
    [g.numpy() for g in step(x0)]  # compile
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        step(x0)[0].numpy()
        best = min(best, time.perf_counter() - start)
    return best / LAYERS * 1e6


fused = tf.function(after_product, jit_compile=True)
CASES = {
    "float32, no XLA": tf.function(train_step(tf.float32, after_product)),
    "float32, all XLA": tf.function(train_step(tf.float32, after_product), jit_compile=True),
    "bfloat16, no XLA": tf.function(train_step(tf.bfloat16, after_product)),
    "bfloat16 products in oneDNN, element-wise in XLA": tf.function(train_step(tf.bfloat16, fused)),
    "bfloat16, all XLA": tf.function(train_step(tf.bfloat16, after_product), jit_compile=True),
}

if __name__ == "__main__":
    for name, step in CASES.items():
        print(f"{name:50s} {microseconds_per_layer(step):8.1f} us per layer, forward and backward")
