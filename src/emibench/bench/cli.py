"""``emibench bench <what>``: benchmarks that print speed figures with the machine and settings."""

from __future__ import annotations

import argparse

from emibench.bench import features, preprocess, train


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="speed benchmarks (prints figures; asserts nothing)")
    what = parser.add_subparsers(dest="bench", metavar="<what>", required=True)
    preprocess.register(what)
    features.register(what)
    train.register(what)
