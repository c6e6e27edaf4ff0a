"""The report's figures (seaborn, headless Agg backend), each a PNG written to a given path.

| name | what it shows |
|---|---|
| ``per_emotion`` | Pearson per emotion of each system (bars: mean over seeds, error bars: sd over seeds; oracle ceiling as markers) |
| ``modality_ablation`` | Table 2 and Table 3 rows: mean over seeds with its bootstrap interval, per-seed scores as dots, the paper's number as a diamond |
| ``scatter`` | predicted versus true intensity per emotion, for the best system on the primary split |
| ``stage1_curves`` | Stage I loss, retrieval recall and learning rate per epoch, both pairs |
| ``fusion_weights`` | a DSCMN run's mean fusion weights (beta_v, beta_a, beta_t) by face occlusion and by audio condition |
| ``pairwise`` | every pair of the leaderboard table: row minus column with the Holm-corrected verdict; each ablation minus its full model with its paired interval |

``DRAWERS`` maps each name of ``FIGURES`` (emibench.report.names) to its drawing function, called with the ``FigureInputs`` of
``emibench figures`` and the output path: the one list of the figures this module draws.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from emibench.data.tables import read_table
from emibench.emotions import EMOTIONS, format_id
from emibench.evaluate.metrics import pearson
from emibench.report.collect import aligned, run_dirs, seed_averaged_predictions
from emibench.report.names import FIGURES, PAIRWISE, PER_EMOTION
from emibench.report.pairwise import SYSTEMS_FAMILY
from emibench.report.paper_numbers import paper_number
from emibench.report.tables import ORACLE_KEY, SCORES, TableSpec

log = logging.getLogger(__name__)

WEIGHTS = ("beta_v", "beta_a", "beta_t")
DPI = 110


def save(fig: plt.Figure, path: str | Path) -> None:
    """Write a figure as PNG (its folder made) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def _seed_scores(results: pd.DataFrame, spec: TableSpec, split: str) -> pd.DataFrame:
    """Per-seed Pearson of a table's rows: columns label, seed, emotion, pearson."""
    frames = []
    for row in spec.rows:
        sel = results[
            (results["system"] == row.system)
            & (results["variant"] == row.variant)
            & (results["split"] == split)
        ]
        frames.append(sel.assign(label=row.label)[["label", "seed", "emotion", "pearson"]])
    return pd.concat(frames, ignore_index=True)


def per_emotion(
    results: pd.DataFrame, spec: TableSpec, per_emotion_csv: str | Path, split: str, path
) -> None:
    """Grouped bars: emotion on x, one bar per system; sd over seeds; oracle ceiling markers."""
    scores = _seed_scores(results, spec, split)
    fig, ax = plt.subplots(figsize=(11, 4.2))
    sns.barplot(
        data=scores,
        x="emotion",
        y="pearson",
        hue="label",
        order=list(SCORES),
        errorbar="sd",
        capsize=0.1,
        ax=ax,
    )
    table = read_table(per_emotion_csv)
    if ORACLE_KEY in table.columns:
        ax.scatter(
            range(len(SCORES)),
            table.set_index("emotion").loc[list(SCORES), ORACLE_KEY],
            marker="_",
            s=900,
            color="black",
            linewidths=2,
            label="oracle ceiling",
            zorder=5,
        )
    ax.set(
        xlabel="",
        ylabel=f"Pearson r ({split})",
        title=f"Pearson per emotion ({split}; mean ± sd over seeds)",
    )
    ax.axhline(0, color="grey", lw=0.8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    save(fig, path)


def modality_ablation(
    results: pd.DataFrame,
    specs: list[TableSpec],
    table_csvs: dict[str, str | Path],
    split: str,
    path,
) -> None:
    """One panel per table (Table 2, Table 3): bars with bootstrap intervals, seeds and paper."""
    fig, axes = plt.subplots(
        1, len(specs), figsize=(5.5 * len(specs), 4.2), squeeze=False, sharey=True
    )
    palette = sns.color_palette("deep")
    for ax, spec in zip(axes[0], specs):
        table = read_table(table_csvs[spec.name]).set_index("key")
        labels = [row.label for row in spec.rows]
        x = np.arange(len(spec.rows))
        height = table.loc[[r.key for r in spec.rows], f"{split}_mean"].to_numpy(float)
        low = table.loc[[r.key for r in spec.rows], f"{split}_ci_low"].to_numpy(float)
        high = table.loc[[r.key for r in spec.rows], f"{split}_ci_high"].to_numpy(float)
        ax.bar(x, height, width=0.6, color=palette[: len(x)], alpha=0.85)
        ax.errorbar(
            x, height, yerr=[height - low, high - height], fmt="none", ecolor="black", capsize=5
        )
        seeds = _seed_scores(results, spec, split)
        seeds = seeds[seeds["emotion"] == "mean"]
        sns.stripplot(
            data=seeds,
            x="label",
            y="pearson",
            order=labels,
            color="black",
            size=4,
            jitter=0.1,
            ax=ax,
        )
        paper = [
            (i, paper_number(row.paper[0]).value) for i, row in enumerate(spec.rows) if row.paper
        ]
        if paper:
            ax.scatter(*zip(*paper), marker="D", color="crimson", zorder=5, label="paper")
        if ORACLE_KEY in table.index:
            ax.axhline(
                table.loc[ORACLE_KEY, f"{split}_mean"],
                color="black",
                ls="--",
                lw=1,
                label="oracle ceiling",
            )
        ax.set_xticks(x, labels, rotation=20, ha="right")
        ax.set_xlim(-0.7, max(len(x), 2) - 0.3)
        ax.set(xlabel="", ylabel=f"mean Pearson ({split})", title=spec.title)
        ax.axhline(0, color="grey", lw=0.8)
    handles = {lab: h for ax in axes[0] for h, lab in zip(*ax.get_legend_handles_labels())}
    if handles:
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="upper left",
            bbox_to_anchor=(1.0, 0.9),
            frameon=False,
        )
    fig.suptitle(
        "Modality ablation: mean over seeds, 95% bootstrap interval over clips, seeds (dots)",
        y=1.02,
    )
    save(fig, path)


def best_row(results: pd.DataFrame, spec: TableSpec, split: str):
    """The row of ``spec`` with the highest mean-over-seeds mean Pearson on ``split``."""
    best, best_score = None, -np.inf
    for row in spec.rows:
        sel = results[
            (results["system"] == row.system)
            & (results["variant"] == row.variant)
            & (results["split"] == split)
            & (results["emotion"] == "mean")
        ]
        if len(sel) and sel["pearson"].mean() > best_score:
            best, best_score = row, sel["pearson"].mean()
    return best


def scatter(
    results: pd.DataFrame, spec: TableSpec, labels: pd.DataFrame, split: str, path, max_points: int
) -> None:
    """Predicted versus true intensity, one panel per emotion, for the best row of ``spec``."""
    row = best_row(results, spec, split)
    preds = seed_averaged_predictions(run_dirs(results, row.system, row.variant), split)
    y, p = aligned(labels, preds, f"{row.system}/{row.variant} {split}")
    if len(y) > max_points:
        keep = np.random.default_rng(0).choice(len(y), max_points, replace=False)
        y, p = y[keep], p[keep]
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5), sharex=True, sharey=True)
    for i, (ax, emotion) in enumerate(zip(axes.ravel(), EMOTIONS)):
        ax.scatter(
            y[:, i],
            p[:, i],
            s=10,
            alpha=0.45,
            color=sns.color_palette("deep")[i],
            edgecolors="none",
        )
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
        ax.set(
            title=f"{emotion} (r = {pearson(y[:, i], p[:, i]):.3f})",
            xlim=(-0.03, 1.03),
            ylim=(-0.03, 1.03),
        )
    for ax in axes[1]:
        ax.set_xlabel("true intensity")
    for ax in axes[:, 0]:
        ax.set_ylabel("predicted (seed average)")
    fig.suptitle(f"{row.label}: predicted vs true on {split} ({len(y)} clips)")
    save(fig, path)


RECALL_CURVES = ["valid_recall_at_1", "valid_recall_at_5", "test_recall_at_1", "test_recall_at_5"]


def stage1_curves(logs: list[str | Path], path) -> None:
    """Loss (train, valid), recall@1/@5 on valid and test (with the kept epoch starred) and the
    learning rate per epoch, one line per pair (the mean and its band over Stage I seeds). Logs
    are ``<model>/seed<k>/log.tsv``, one row per epoch and pair (column ``pair``; a log without
    it is the pair its folder names)."""
    frames = []
    for log_path in logs:
        frame = read_table(log_path)
        missing = [
            c
            for c in (
                "epoch",
                "lr",
                "train_loss",
                "valid_loss",
                "valid_recall_at_1",
                "valid_recall_at_5",
            )
            if c not in frame.columns
        ]
        if missing:
            raise KeyError(f"{log_path}: missing Stage I log columns {missing}")
        if "pair" not in frame.columns:
            frame = frame.assign(pair=Path(log_path).parent.parent.name)
        frame["pair"] = frame["pair"].astype(str).str.replace("_", "-")
        frames.append(frame.assign(seed=Path(log_path).parent.name))
    data = pd.concat(frames, ignore_index=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    loss = data.melt(
        id_vars=["epoch", "pair"], value_vars=["train_loss", "valid_loss"], var_name="curve"
    )
    sns.lineplot(data=loss, x="epoch", y="value", hue="pair", style="curve", marker="o", ax=axes[0])
    axes[0].set(ylabel="InfoNCE loss", title="Stage I contrastive loss")
    curves = [c for c in RECALL_CURVES if c in data.columns and data[c].notna().any()]
    recall = data.melt(id_vars=["epoch", "pair"], value_vars=curves, var_name="curve")
    recall["curve"] = recall["curve"].str.replace("_recall_at_", " R@")
    sns.lineplot(data=recall, x="epoch", y="value", hue="pair", style="curve", ax=axes[1])
    if "selected" in data.columns:
        kept = data[_as_bool(data["selected"])]
        axes[1].scatter(
            kept["epoch"],
            kept["valid_recall_at_5"],
            marker="*",
            s=160,
            c="black",
            zorder=3,
            label="kept (valid R@5)",
        )
    for k, dash in ((1, ":"), (5, "--")):
        column = f"valid_chance_at_{k}"
        if column in data.columns:
            axes[1].axhline(
                data[column].max(), color="grey", ls=dash, lw=1, label=f"chance R@{k} (valid)"
            )
    axes[1].legend(fontsize="x-small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    axes[1].set(ylabel="recall", title="Stage I retrieval (media -> text)", ylim=(0, None))
    sns.lineplot(data=data, x="epoch", y="lr", hue="pair", marker="o", ax=axes[2])
    axes[2].set(yscale="log", ylabel="learning rate", title="SGDR schedule")
    save(fig, path)


def _audio_group(frame: pd.DataFrame, bins: list[float]) -> tuple[pd.Series, list[str]]:
    """Audio condition of each clip from the synthetic latents (no track, silent, or an SNR bin
    in dB) and the conditions in order from worst to best."""
    edges = [-np.inf, *bins, np.inf]
    names = (
        [f"< {bins[0]:g} dB"]
        + [f"{a:g}-{b:g} dB" for a, b in pairwise(bins)]
        + [f">= {bins[-1]:g} dB"]
    )
    group = pd.cut(frame["snr_db"].astype(float), edges, labels=names, right=False).astype(str)
    group[_as_bool(frame["silent"])] = "silent"
    group[~_as_bool(frame["has_audio_track"])] = "no audio track"
    return group, ["no audio track", "silent", *names]


def _as_bool(column: pd.Series) -> np.ndarray:
    """A boolean column as written to CSV (True/False, 1/0, true/false) as a bool array."""
    if column.dtype == bool:
        return column.to_numpy()
    return column.astype(str).str.strip().str.lower().isin(["true", "1", "yes"]).to_numpy()


def fusion_weights(
    results: pd.DataFrame,
    system: str,
    variant: str,
    split: str,
    manifest: str | Path,
    latents: str | Path | None,
    snr_bins: list[float],
    path,
) -> None:
    """Mean fusion weights of a DSCMN run by face occlusion and audio condition (synthetic
    latents), or by the manifest's audio presence and clip status (real set)."""
    dirs = run_dirs(results, system, variant)
    if not dirs:
        raise KeyError(f"report.figures.fusion: no runs of {system}/{variant} in the results table")
    frames = []
    for run in dirs:
        file = run / f"fusion_weights_{split}.csv"
        frame = read_table(file)
        missing = [c for c in ("id", *WEIGHTS) if c not in frame.columns]
        if missing:
            raise KeyError(f"{file}: missing columns {missing}")
        frames.append(frame.set_index("id")[list(WEIGHTS)])
    weights = pd.concat(frames).groupby(level=0).mean()
    if latents:
        info = _rows(read_table(latents), weights.index, latents)
        audio, audio_order = _audio_group(info, snr_bins)
        groups = {
            "face": np.where(_as_bool(info["occluded"]), "occluded", "visible"),
            "audio": audio.to_numpy(),
        }
        order = {"face": ["visible", "occluded"], "audio": audio_order}
    else:
        info = _rows(read_table(manifest), weights.index, manifest)
        groups = {
            "audio": np.where(_as_bool(info["has_audio"]), "has audio", "no audio"),
            "clip status": info["status"].astype(str).to_numpy(),
        }
        order = {"audio": ["has audio", "no audio"], "clip status": ["ok", "broken"]}
    fig, axes = plt.subplots(
        1, len(groups), figsize=(6.5 * len(groups), 4.2), squeeze=False, sharey=True
    )
    for ax, (name, group) in zip(axes[0], groups.items()):
        long = weights.assign(group=group).melt(
            id_vars="group", var_name="weight", value_name="beta"
        )
        present = list(pd.unique(long["group"]))
        grp_order = [g for g in order[name] if g in present] + sorted(
            set(present) - set(order[name])
        )
        sns.barplot(
            data=long,
            x="group",
            y="beta",
            hue="weight",
            order=grp_order,
            errorbar=("ci", 95),
            ax=ax,
        )
        n_clips = weights.assign(group=group)["group"].value_counts()
        ax.set_xticks(range(len(grp_order)), [f"{g}\n(n={n_clips.get(g, 0)})" for g in grp_order])
        ax.set(xlabel=name, ylabel="mean fusion weight", title=f"weights by {name}")
        ax.get_legend().remove()
    fig.legend(
        *axes[0][0].get_legend_handles_labels(),
        loc="upper left",
        bbox_to_anchor=(1.0, 0.9),
        frameon=False,
    )
    fig.suptitle(
        f"{system} {variant}: mean fusion weights over clips ({split}; 95% interval)", y=1.02
    )
    save(fig, path)


def _rows(table: pd.DataFrame, ids: pd.Index, source) -> pd.DataFrame:
    """The rows of ``table`` for clip ``ids`` (5-digit strings), in that order."""
    table = table.assign(id=table["id"].map(format_id)).set_index("id")
    missing = ids.difference(table.index)
    if len(missing):
        raise KeyError(
            f"{source}: no rows for {len(missing)} clips with fusion weights, e.g. {list(missing[:3])}"
        )
    return table.loc[ids]


def pairwise_matrix(pairwise_csv: str | Path, split: str, path) -> None:
    """Top: the leaderboard table's pairs as a matrix, rows and columns by score, each cell row
    minus column with ``*`` where distinguishable after Holm. Below (with ablations): each
    ablation minus its full model with its paired interval, filled where distinguishable."""
    table = read_table(pairwise_csv)
    table = table[table["split"] == split].assign(
        distinguishable=lambda t: _as_bool(t["distinguishable"])
    )
    systems = table[table["family"] == SYSTEMS_FAMILY]
    ablations = table[table["family"] != SYSTEMS_FAMILY]
    means = pd.concat(
        [
            systems[["a_label", "a_mean"]].set_axis(["label", "mean"], axis=1),
            systems[["b_label", "b_mean"]].set_axis(["label", "mean"], axis=1),
        ]
    ).drop_duplicates("label")
    order = list(means.sort_values("mean", ascending=False, kind="stable")["label"])
    diff = pd.DataFrame(np.nan, index=order, columns=order)
    marks = pd.DataFrame("", index=order, columns=order)
    for _, r in systems.iterrows():
        star = "*" if r["distinguishable"] else ""
        for a, b, d in (
            (r["a_label"], r["b_label"], r["diff"]),
            (r["b_label"], r["a_label"], -r["diff"]),
        ):
            diff.loc[a, b] = d
            marks.loc[a, b] = f"{d:+.3f}{star}"
    # rows: rank and label; columns: the rank alone, so long labels leave the cells their width
    diff.index = marks.index = [f"{k}. {label}" for k, label in enumerate(order, start=1)]
    diff.columns = marks.columns = [str(k) for k in range(1, len(order) + 1)]
    longest = max((len(label) for label in diff.index), default=0)
    size = max(7.0, 2.5 + len(order) * 0.8 + longest * 0.075)
    heights = [1.5 + len(order) * 0.55] + ([1.0 + len(ablations) * 0.4] if len(ablations) else [])
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(size, sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
        layout="constrained",
    )
    ax = axes[0][0]
    limit = float(np.nanmax(np.abs(diff.to_numpy()))) if len(order) > 1 else 1.0
    sns.heatmap(
        diff,
        annot=marks,
        fmt="",
        cmap="RdBu",
        center=0,
        vmin=-limit,
        vmax=limit,
        cbar_kws={"label": "row − column (mean Pearson)"},
        linewidths=0.5,
        annot_kws={"fontsize": 8},
        ax=ax,
    )
    ax.set(
        xlabel="column: system of that rank",
        ylabel="",
        title=f"Pairs of systems ({split}): row − column; * distinguishable (Holm)",
    )
    ax.tick_params(axis="x", rotation=0)
    ax.tick_params(axis="y", rotation=0)
    if len(ablations):
        ax = axes[1][0]
        y = np.arange(len(ablations))
        strong = ablations["distinguishable"].to_numpy()
        ax.errorbar(
            ablations["diff"],
            y,
            xerr=[
                ablations["diff"] - ablations["ci_low"],
                ablations["ci_high"] - ablations["diff"],
            ],
            fmt="none",
            ecolor="black",
            capsize=4,
        )
        for chosen, face, label in (
            (strong, "black", "distinguishable (Holm)"),
            (~strong, "white", "not distinguishable"),
        ):
            ax.scatter(
                ablations["diff"][chosen],
                y[chosen],
                facecolor=face,
                edgecolor="black",
                zorder=3,
                label=label,
            )
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, ablations["a_label"])
        ax.invert_yaxis()
        full = ", ".join(dict.fromkeys(ablations["b_label"]))
        ax.set(
            xlabel=f"ablation − full model ({full}), mean Pearson",
            title="Each ablation against its full model: paired interval",
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    save(fig, path)


@dataclass(frozen=True)
class FigureInputs:
    """What the figures are drawn from: the results table, the parsed ``report.tables``, the
    ``report`` config section, the table CSVs by name, the primary split and its labels, the
    Stage I logs, the manifest and (synthetic set) the generator's latents."""

    results: pd.DataFrame
    specs: dict[str, TableSpec]
    settings: dict
    tables: dict[str, str | Path]
    labels: pd.DataFrame
    split: str
    stage1_logs: list
    manifest: str | Path
    latents: str | Path | None = None

    def table(self, name: str) -> str | Path:
        if name not in self.tables:
            raise KeyError(f"figures need the table CSV {name}.csv; --tables: {list(self.tables)}")
        return self.tables[name]


def _per_emotion(inputs: FigureInputs, path) -> None:
    systems = inputs.specs[inputs.settings["per_emotion_rows"]]
    per_emotion(inputs.results, systems, inputs.table(PER_EMOTION), inputs.split, path)


def _modality_ablation(inputs: FigureInputs, path) -> None:
    chosen = [inputs.specs[t] for t in inputs.settings["figures"]["ablation_tables"]]
    csvs = {spec.name: inputs.table(spec.name) for spec in chosen}
    modality_ablation(inputs.results, chosen, csvs, inputs.split, path)


def _scatter(inputs: FigureInputs, path) -> None:
    systems = inputs.specs[inputs.settings["per_emotion_rows"]]
    most = inputs.settings["figures"]["scatter_max_points"]
    scatter(inputs.results, systems, inputs.labels, inputs.split, path, most)


def _fusion_weights(inputs: FigureInputs, path) -> None:
    fig_cfg = inputs.settings["figures"]
    fusion = fig_cfg["fusion"]
    fusion_weights(
        inputs.results,
        fusion["system"],
        fusion["variant"],
        inputs.split,
        inputs.manifest,
        inputs.latents,
        fig_cfg["snr_bins_db"],
        path,
    )


# how each figure of FIGURES (emibench.report.names) is drawn
DRAWERS: dict[str, Callable[[FigureInputs, str | Path], None]] = {
    "per_emotion": _per_emotion,
    "modality_ablation": _modality_ablation,
    "scatter": _scatter,
    "stage1_curves": lambda inputs, path: stage1_curves(inputs.stage1_logs, path),
    "fusion_weights": _fusion_weights,
    PAIRWISE: lambda inputs, path: pairwise_matrix(inputs.table(PAIRWISE), inputs.split, path),
}


def draw(name: str, inputs: FigureInputs, path) -> None:
    """Draw the figure ``name`` of FIGURES to ``path``."""
    if name not in DRAWERS:
        raise ValueError(f"{path}: unknown figure {name!r}; figures: {', '.join(FIGURES)}")
    DRAWERS[name](inputs, path)
