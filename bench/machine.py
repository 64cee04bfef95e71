"""What machine a benchmark ran on, printed with every table: the machines change between sessions, so a time
means something only beside the CPU it was measured on (and a ratio only against a baseline of the same run)."""

from __future__ import annotations

import os
import platform


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
