"""What machine a benchmark ran on, printed with every table: the machines change between sessions, so a time
means something only beside the CPU it was measured on (and a ratio only against a baseline of the same run). How
the benchmarks time a call, and how far a network's arithmetic runs from what one thread of this CPU can do."""

from __future__ import annotations

import os
import platform
import statistics
import time


def time_calls(function, iterations: int = 3) -> float:
    """Median seconds of `iterations` calls after one untimed call (tracing, caches)."""
    function()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} CPUs"


def conv_flops(model) -> int:
    """Floating-point operations (2 per multiply-add) of one image through a Keras model's convolutions and dense
    layers, nested models included; normalisation and activations are left out (a few percent in a conv net).

    Why: seconds alone cannot say whether a step could be faster; its arithmetic over its time, beside the rate of
    a matrix product on the same thread (`matmul_gflops`), says how much headroom is left.
    """
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += conv_flops(layer)
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # each input pixel scatters a kernel
            _, height, width, channels = layer.input.shape
            total += 2 * height * width * channels * layer.filters * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, keras.layers.Conv2D):
            channels = layer.input.shape[-1]
            _, height, width, _ = layer.output.shape
            total += 2 * height * width * channels * layer.filters * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def matmul_gflops(size: int = 2048, iterations: int = 5) -> float:
    """TensorFlow's float32 GFLOP/s on a square matrix product, with the threads the process has set: the
    practical ceiling for convolutions on this CPU."""
    import tensorflow as tf

    a = tf.random.uniform((size, size), dtype=tf.float32)
    b = tf.random.uniform((size, size), dtype=tf.float32)
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    seconds = time_calls(lambda: product().numpy(), iterations)
    return 2 * size**3 / seconds / 1e9
