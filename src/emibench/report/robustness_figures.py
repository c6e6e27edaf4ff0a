"""The robustness figures, drawn from the robustness table CSVs (``emibench.report.robustness``).

| name | what it shows |
|---|---|
| ``robustness`` | degradation curves per system: mean Pearson over SNR (noise-only conditions, one line per system and noise source) and over the occluded share of frames (occlusion-only conditions, per region), clean as the end point; and every condition's drop from clean per system; 95% bootstrap intervals over clips |
| ``robustness_weights`` | the DSCMN run's mean fusion weights per condition |
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from emibench.data.tables import read_table
from emibench.evaluate.run_files import FUSION_COLUMNS
from emibench.report.figures import save
from emibench.report.names import ROBUSTNESS_FIGURES
from emibench.report.robustness import CLEAN, ORACLE_KEY
from emibench.robustness.spec import Condition

FIGURES = ROBUSTNESS_FIGURES


def single_op(conditions: dict[str, Condition], op: str) -> dict[str, Condition]:
    """The conditions made of the one op ``op`` (the points of a degradation curve)."""
    return {n: c for n, c in conditions.items() if len(c.ops) == 1 and c.ops[0].name == op}


def pick_split(table: pd.DataFrame, split: str | None) -> str:
    splits = list(dict.fromkeys(table["split"]))
    return split if split in splits else splits[0]


def _curve(ax, table: pd.DataFrame, points: dict[str, float], clean_x: float, style: str) -> None:
    """One line per system through the conditions ``points`` (name -> x) and clean at clean_x."""
    palette = dict(zip(table["key"].unique(), sns.color_palette("deep", table["key"].nunique())))
    xs = {CLEAN: clean_x, **points}
    for key, group in table.groupby("key", sort=False):
        if key == ORACLE_KEY:
            continue
        group = group[group["condition"].isin(xs)].assign(x=lambda g: g["condition"].map(xs))
        group = group.dropna(subset=["mean"]).sort_values("x")
        if group.empty:
            continue
        ax.errorbar(
            group["x"],
            group["mean"],
            yerr=[group["mean"] - group["ci_low"], group["ci_high"] - group["mean"]],
            marker="o",
            ls=style,
            capsize=3,
            color=palette[key],
            label=group["label"].iloc[0],
        )


def degradation(
    table_csv: str | Path, conditions: dict[str, Condition], path, split: str | None = None
) -> None:
    """Curves over SNR and over occluded share, and every condition's drop per system."""
    table = read_table(table_csv)
    split = pick_split(table, split)
    table = table[table["split"] == split]
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.6))
    noise = single_op(conditions, "noise")
    snrs = [c.ops[0].params.snr_db for c in noise.values()]
    clean_snr = (max(snrs) if snrs else 0.0) + 10.0
    for source, style in zip(
        sorted({c.ops[0].params.source for c in noise.values()}), ("-", "--", ":", "-.")
    ):
        points = {
            n: c.ops[0].params.snr_db for n, c in noise.items() if c.ops[0].params.source == source
        }
        _curve(axes[0], table, points, clean_snr, style)
    axes[0].set_xticks(
        sorted({*snrs, clean_snr}), [*(f"{s:g}" for s in sorted(set(snrs))), "clean"]
    )
    axes[0].set(
        xlabel="SNR (dB); line style: noise source",
        ylabel=f"mean Pearson ({split})",
        title="Additive noise" if noise else "Additive noise (no noise-only condition)",
    )
    occlusion = single_op(conditions, "occlude")
    for region, style in zip(
        sorted({c.ops[0].params.region for c in occlusion.values()}), ("-", "--", ":")
    ):
        points = {
            n: c.ops[0].params.share
            for n, c in occlusion.items()
            if c.ops[0].params.region == region
        }
        _curve(axes[1], table, points, 0.0, style)
    axes[1].set(
        xlabel="share of frames occluded (0: clean); line style: face region",
        ylabel=f"mean Pearson ({split})",
        title="Face occlusion" if occlusion else "Face occlusion (no occlusion-only condition)",
    )
    drops = table[(table["condition"] != CLEAN) & (table["key"] != ORACLE_KEY)].dropna(
        subset=["drop"]
    )
    order = [c for c in conditions if c in set(drops["condition"])]
    labels = list(dict.fromkeys(drops["label"]))
    width = 0.8 / max(len(labels), 1)
    palette = sns.color_palette("deep", len(labels))
    for i, label in enumerate(labels):
        sel = drops[drops["label"] == label].set_index("condition").reindex(order)
        x = np.arange(len(order)) + (i - (len(labels) - 1) / 2) * width
        axes[2].bar(x, sel["drop"], width=width, color=palette[i], label=label)
        axes[2].errorbar(
            x,
            sel["drop"],
            yerr=[sel["drop"] - sel["drop_ci_low"], sel["drop_ci_high"] - sel["drop"]],
            fmt="none",
            ecolor="black",
            capsize=2,
            lw=0.8,
        )
    axes[2].set_xticks(np.arange(len(order)), order, rotation=30, ha="right")
    axes[2].axhline(0, color="grey", lw=0.8)
    axes[2].set(ylabel="drop from clean (clean − condition)", title="Drop under each condition")
    for ax in axes[:2]:
        ax.axhline(0, color="grey", lw=0.8)
    handles = {lab: h for ax in axes for h, lab in zip(*ax.get_legend_handles_labels())}
    fig.legend(
        handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.0, 0.9), frameon=False
    )
    fig.suptitle(
        f"Robustness on {split}: mean over seeds, 95% bootstrap interval over clips", y=1.02
    )
    save(fig, path)


def weights(weights_csv: str | Path, path, split: str | None = None) -> None:
    """Grouped bars: condition on x, one bar per fusion weight."""
    table = read_table(weights_csv)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * max(len(table), 1) / 2), 4.2))
    if table.empty:
        ax.text(0.5, 0.5, "no fusion weights", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        save(fig, path)
        return
    split = pick_split(table, split)
    table = table[table["split"] == split]
    long = table.melt(
        id_vars="condition", value_vars=list(FUSION_COLUMNS), var_name="weight", value_name="beta"
    )
    sns.barplot(data=long, x="condition", y="beta", hue="weight", ax=ax)
    ax.axhline(1 / 3, color="grey", ls="--", lw=0.8, label="uniform")
    ax.set(
        xlabel="",
        ylabel="mean fusion weight",
        title=f"{table['system'].iloc[0]} {table['variant'].iloc[0]}: fusion weights per "
        f"condition ({split})",
    )
    ax.tick_params(axis="x", rotation=30)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    save(fig, path)
