"""Logging set-up shared by every command: one format, to stderr (rules send it to their log)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=FORMAT, force=True)


@contextmanager
def timed(log: logging.Logger, what: str) -> Iterator[None]:
    """Log how long the enclosed block took: ``<what> took 1.23 s``."""
    start = time.perf_counter()
    yield
    log.info("%s took %.2f s", what, time.perf_counter() - start)


@contextmanager
def run_log(path: str | Path) -> Iterator[None]:
    """Copy this process's log records to ``path`` while the block runs (a run folder's log)."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
