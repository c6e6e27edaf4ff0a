"""``emibench lock-check``: does envs/requirements.lock still lock what pyproject.toml asks for?"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to ``sub``."""
    p = sub.add_parser(
        "lock-check",
        help="fail when pyproject.toml's dependencies, envs/constraints.txt and the lock disagree",
        description="Check envs/requirements.lock against pyproject.toml (every dependency and "
        "extra locked, at a version its range admits, as a direct dependency; nothing locked as "
        "direct that pyproject.toml no longer names) and envs/constraints.txt (its pins kept). "
        "Exit 1 with one line per disagreement; `bash envs/lock.sh` refreshes the lock.",
    )
    p.add_argument("--root", default=".", help="the checkout (pyproject.toml, envs/)")
    p.set_defaults(func=_lock_check)


def _lock_check(args: argparse.Namespace) -> int:
    from emibench.environment.lock import LOCK, REFRESH, lock_problems, read_lock

    problems = lock_problems(args.root)
    for problem in problems:
        log.error("%s", problem)
    if problems:
        log.error("%d disagreements: refresh the lock with `%s`", len(problems), REFRESH)
        return 1
    log.info(
        "%s agrees with pyproject.toml and envs/constraints.txt: %d packages locked",
        LOCK,
        len(read_lock(f"{args.root}/{LOCK}")),
    )
    return 0
