"""Paired comparisons over the same clips: which differences between systems are real.

Config ``report.leaderboard``: ``table`` (the leaderboard's rows, default the table of
``report.per_emotion_rows``) and ``ablations`` (tables whose rows are each compared with the
table's full model). Two kinds of family, each Holm-corrected on its own, per labelled split:

- ``systems``: every pair of rows of the leaderboard table, ``a`` the row with the higher mean;
- ``ablations:<table>``: every other row of an ablation table minus its ``full`` row.

A difference is a minus b in mean Pearson over the six emotions (mean over seeds, the numbers of
the tables), with the paired bootstrap of ``emibench.report.bootstrap``: both systems' scores are
recomputed on the same resampled clips, each system's seeds averaged inside every resample. The
best row of the leaderboard table and every row not distinguishable from it (Holm-adjusted p of
the pair at or above ``1 - level``) form the tie group.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from emibench.report.bootstrap import holm, paired_difference

SYSTEMS_FAMILY = "systems"
BEST, TIED = "best", "tied"
COLUMNS = [
    "family",
    "split",
    "a",
    "b",
    "a_label",
    "b_label",
    "a_mean",
    "b_mean",
    "diff",
    "ci_low",
    "ci_high",
    "se",
    "p",
    "p_holm",
    "n_comparisons",
    "distinguishable",
]


@dataclass(frozen=True)
class AblationSpec:
    table: str
    full: str


@dataclass(frozen=True)
class LeaderboardSpec:
    """The leaderboard's table and the ablation tables compared with their full model."""

    table: str
    ablations: tuple[AblationSpec, ...] = ()


@dataclass(frozen=True)
class Compared:
    """One table row's score on one split: mean over seeds and (B,) resampled scores."""

    key: str
    label: str
    mean: float
    samples: np.ndarray


def parse_leaderboard(report_cfg: dict, tables: dict) -> LeaderboardSpec:
    """``report.leaderboard`` checked against ``tables`` (name -> TableSpec)."""
    body = report_cfg.get("leaderboard") or {}
    table = body.get("table") or report_cfg["per_emotion_rows"]
    if table not in tables:
        raise KeyError(
            f"report.leaderboard.table: no table {table!r} in report.tables ({sorted(tables)})"
        )
    ablations = []
    for i, item in enumerate(body.get("ablations", [])):
        where = f"report.leaderboard.ablations[{i}]"
        for key in ("table", "full"):
            if key not in item:
                raise KeyError(f"{where}: missing key {key!r}")
        if item["table"] not in tables:
            raise KeyError(f"{where}: no table {item['table']!r} in report.tables")
        keys = [row.key for row in tables[item["table"]].rows]
        if item["full"] not in keys:
            raise KeyError(
                f"{where}: full {item['full']!r} is not a row key of "
                f"report.tables.{item['table']} ({keys})"
            )
        ablations.append(AblationSpec(item["table"], item["full"]))
    return LeaderboardSpec(table, tuple(ablations))


def ranked_pairs(rows: list[Compared]) -> list[tuple[Compared, Compared]]:
    """Every pair of ``rows`` once, the higher mean first (ties: the earlier row first)."""
    ranked = sorted(rows, key=lambda r: -r.mean)
    return list(combinations(ranked, 2))


def compare_family(
    family: str, split: str, pairs: list[tuple[Compared, Compared]], level: float
) -> list[dict]:
    """The records of one family: a minus b per pair, its paired interval and p-value, the
    Holm-adjusted p over the family, and whether that is below ``1 - level``."""
    found = [paired_difference(a.mean - b.mean, a.samples, b.samples, level) for a, b in pairs]
    adjusted = holm([d.p for d in found]) if found else []
    return [
        {
            "family": family,
            "split": split,
            "a": a.key,
            "b": b.key,
            "a_label": a.label,
            "b_label": b.label,
            "a_mean": a.mean,
            "b_mean": b.mean,
            "diff": d.diff,
            "ci_low": d.low,
            "ci_high": d.high,
            "se": d.se,
            "p": d.p,
            "p_holm": float(p_holm),
            "n_comparisons": len(pairs),
            "distinguishable": bool(p_holm < 1.0 - level),
        }
        for (a, b), d, p_holm in zip(pairs, found, adjusted)
    ]


def tie_group(rows: list[Compared], records: list[dict]) -> dict[str, str]:
    """Row key -> ``best`` (the highest mean), ``tied`` (not distinguishable from it in the
    ``systems`` family ``records``) or ``""``."""
    if not rows:
        return {}
    best = max(rows, key=lambda r: r.mean).key
    marks = {row.key: "" for row in rows}
    marks[best] = BEST
    for rec in records:
        if best in (rec["a"], rec["b"]) and not rec["distinguishable"]:
            other = rec["b"] if rec["a"] == best else rec["a"]
            marks[other] = TIED
    return marks


def pairwise_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=COLUMNS)


def p_text(p: float) -> str:
    """A p-value for a table: three decimals, ``<0.001`` below that."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"
