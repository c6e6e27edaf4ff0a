"""What the benchmarks share: a one-line description of the machine, and the timing loop."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable


def describe_machine() -> str:
    import torch

    parts = [
        f"host={platform.node()}",
        f"cpu={platform.processor() or platform.machine()}",
        f"cores={os.cpu_count()}",
        f"torch={torch.__version__}",
        f"torch_threads={torch.get_num_threads()}",
    ]
    if torch.cuda.is_available():
        parts.append(f"gpu={torch.cuda.get_device_name(0)}")
    else:
        parts.append("gpu=none")
    return " ".join(parts)


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(step: Callable[[], None], device, min_seconds: float) -> tuple[float, int]:
    """Warm up once, then repeat ``step`` until ``min_seconds``; returns (seconds, repetitions)."""
    step()
    sync(device)
    start, n = time.perf_counter(), 0
    while True:
        step()
        n += 1
        sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed, n


def bench_devices(spec: str) -> list[str]:
    """``--devices``: a comma list of cpu,cuda, or ``auto`` = cpu plus cuda when present."""
    import torch

    if spec != "auto":
        return spec.split(",")
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
