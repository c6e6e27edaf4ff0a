"""The workflow's path patterns and shards, as the plan fills them in.

The workflow owns every output path (``PATHS`` in workflow/rules/common.smk); the plan receives
those patterns and fills in their wildcards, so a job spec names exactly the files of the DAG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emibench.emotions import SPLITS


@dataclass(frozen=True)
class Layout:
    """Path patterns (``{name}`` wildcards) by key, and the shard count of each split."""

    paths: Mapping[str, str]
    shard_counts: Mapping[str, int]

    def path(self, key: str, **wildcards: Any) -> str:
        try:
            pattern = self.paths[key]
        except KeyError:
            raise KeyError(f"the workflow's PATHS have no pattern {key!r}") from None
        return pattern.format(**wildcards)

    def shards(self, split: str) -> list[str]:
        """Shard names of a split: ``00`` .. ``NN``."""
        return [f"{i:02d}" for i in range(self.shard_counts[split])]

    def per_shard(self, key: str, split: str, **wildcards: Any) -> list[str]:
        """Every shard's path of pattern ``key`` for one split."""
        return [self.path(key, split=split, shard=s, **wildcards) for s in self.shards(split)]


def layout_from(paths: Mapping[str, str], config: Mapping[str, Any]) -> Layout:
    """The layout of a validated config: its shard counts per split."""
    return Layout(dict(paths), {split: int(config["shards"][split]) for split in SPLITS})
