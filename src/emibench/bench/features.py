"""`emibench bench features`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `features` benchmark to `emibench bench`."""
