"""`emibench bench preprocess`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `preprocess` benchmark to `emibench bench`."""
