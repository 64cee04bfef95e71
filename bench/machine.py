"""What machine a benchmark ran on, printed with every table: the machines change between sessions, so a time
means something only beside the CPU it was measured on (and a ratio only against a baseline of the same run). And
how the benchmarks time a call."""

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
