"""Logging set-up shared by every command: one format, to stderr (rules send it to their log)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=FORMAT, force=True)


@contextmanager
def timed(log: logging.Logger, what: str) -> Iterator[None]:
    """Log how long the enclosed block took: ``<what> took 1.23 s``."""
    start = time.perf_counter()
    yield
    log.info("%s took %.2f s", what, time.perf_counter() - start)
