"""The one command line: ``emibench <step> ...``, a subcommand per workflow step.

Each stage package contributes its subcommands through ``<package>.cli.register(subparsers)``;
every subcommand sets ``func`` to a callable taking the parsed arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from emibench import __version__
from emibench.logs import setup_logging
from emibench.steps import run_step

STAGE_CLIS = (
    "emibench.data.cli",
    "emibench.media.cli",
    "emibench.asr.cli",
    "emibench.robustness.cli",
    "emibench.encoders.cli",
    "emibench.features.cli",
    "emibench.stage1.cli",
    "emibench.models.cli",
    "emibench.train.cli",
    "emibench.evaluate.cli",
    "emibench.report.cli",
    "emibench.bench.cli",
    "emibench.environment.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emibench",
        description="Emotional Mimicry Intensity benchmark: every workflow step as a subcommand. "
        "Snakemake rules call these with paths; run `emibench <step> --help` for a step's options.",
    )
    parser.add_argument("--version", action="version", version=f"emibench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="<step>")
    for module in STAGE_CLIS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging(args.verbose)
    return run_step(args)


if __name__ == "__main__":
    sys.exit(main())
