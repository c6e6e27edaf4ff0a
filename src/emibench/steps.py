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


def add_seed_runs(parser: argparse.ArgumentParser) -> None:
    """``--seeds`` and ``--out-dirs``: one run per seed of one (system, variant), in that order."""
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="seeds, one run each")
    parser.add_argument(
        "--out-dirs", nargs="+", required=True, help="the run folder of each seed, in --seeds order"
    )


def add_members_option(parser: argparse.ArgumentParser) -> None:
    """``--members SEED RUN_DIR...``, once per seed: the member runs a fused or stacked run reads."""
    parser.add_argument(
        "--members",
        nargs="+",
        action="append",
        required=True,
        metavar="SEED RUN_DIR",
        help="a seed's member run folders: --members 0 runs/a/V/seed0 ...; once per seed",
    )


def seed_runs(args: argparse.Namespace) -> list[tuple[int, str]]:
    """(seed, run folder) pairs of ``--seeds`` and ``--out-dirs``."""
    if len(args.seeds) != len(args.out_dirs):
        raise ConfigError(f"{len(args.seeds)} --seeds but {len(args.out_dirs)} --out-dirs")
    return list(zip(args.seeds, args.out_dirs))


def seed_groups(groups: list[list[str]], seeds: list[int], option: str) -> dict[int, list[str]]:
    """Repeated ``--option SEED VALUE...`` groups -> {seed: values}; every seed needs a group."""
    out: dict[int, list[str]] = {seed: [] for seed in seeds}
    for group in groups:
        if len(group) < 2 or not group[0].isdigit() or int(group[0]) not in out:
            raise ConfigError(
                f"{option} {' '.join(group[:2])} ...: expected SEED (one of {seeds}) VALUE..."
            )
        out[int(group[0])].extend(group[1:])
    lacking = [seed for seed, values in out.items() if not values]
    if lacking:
        raise ConfigError(f"no {option} group for seed(s) {lacking}")
    return out


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
