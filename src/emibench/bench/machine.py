"""A one-line description of the machine and software a benchmark ran on."""

from __future__ import annotations

import os
import platform


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
