"""A fake Hume-Vidmimic2 root in the real layout, for dry runs of config/vidmimic2.yaml.

Usage: ``python tests/fake_vidmimic2.py ROOT`` (what .ci/run calls), the same as
``emibench make-fake-root ROOT``; see :mod:`emibench.data.fake_root` for what the root holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from emibench.data.fake_root import make_fake_root


def make_root(root: Path) -> Path:
    return make_fake_root(root)


if __name__ == "__main__":
    print(make_root(Path(sys.argv[1])))
