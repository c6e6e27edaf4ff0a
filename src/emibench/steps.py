"""What every ``emibench <step>`` shares: JSON options, torch threads, timing, config errors.

A subcommand declares its options with ``json_arg`` (one JSON word from a rule's ``as_json``) and
``add_compute_options`` (``--device``, ``--threads``); ``run_step`` (called by ``emibench.cli``) sets
the thread count before torch starts, runs the step, turns a ``ConfigError`` into one error line
and exit status 1, and logs how long the step took.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

from emibench.settings import ConfigError

log = logging.getLogger(__name__)

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def json_arg(text: str) -> Any:
    """argparse ``type=``: one JSON value (an empty string is an empty object)."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text[:80]!r}") from None


def add_compute_options(parser: argparse.ArgumentParser, device: bool = True) -> None:
    """``--threads`` (torch CPU threads) and, with ``device``, ``--device`` (auto, cpu, cuda)."""
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    if device:
        parser.add_argument(
            "--device", default="auto", choices=["auto", "cpu", "cuda"], help="torch device"
        )


def set_threads(n: int) -> None:
    """Use ``n`` CPU threads in torch: set now if torch is loaded, else when it loads."""
    n = max(1, int(n))
    for name in THREAD_VARIABLES:
        os.environ[name] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def run_step(args: argparse.Namespace) -> int:
    """Run a parsed subcommand: threads, the step itself, config errors, the time it took."""
    if getattr(args, "threads", None):
        set_threads(args.threads)
    start = time.perf_counter()
    try:
        status = int(args.func(args) or 0)
    except ConfigError as err:
        log.error("emibench %s: %s", args.command, err)
        return 1
    log.info("emibench %s finished in %.1f s", args.command, time.perf_counter() - start)
    return status
