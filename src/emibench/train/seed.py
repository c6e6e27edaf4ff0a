"""Fixing every random number generator of a run, and making torch deterministic."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch


def seed_everything(seed: int, device: torch.device) -> dict[str, object]:
    """Seed python, numpy and torch with ``seed``; deterministic algorithms (strict on the CPU).

    On CUDA some kernels have no deterministic version, so there torch only warns; a CPU rerun
    with the same seed gives identical weights and metrics. Returns what was set, for metrics.json.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    strict = device.type == "cpu"
    _deterministic_algorithms(warn_only=not strict)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
    return {
        "python": seed,
        "numpy": seed,
        "torch": seed,
        "deterministic": "strict" if strict else "warn_only",
    }


def _deterministic_algorithms(warn_only: bool) -> None:
    """``torch.use_deterministic_algorithms(True)`` without its import of the compiler stack.

    The public call also sets ``torch._inductor.config.deterministic``, and importing that module
    costs about a second per job; no run is compiled, so the ATen flag alone is what matters.
    """
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None or "torch._inductor" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=warn_only)
    else:
        setter(True, warn_only=warn_only)
    if not torch.are_deterministic_algorithms_enabled():
        raise RuntimeError("could not switch torch to deterministic algorithms")
