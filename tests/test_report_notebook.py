"""Figures are written, and the report notebook executes on a tiny fake run set into HTML."""

import json
import subprocess
from pathlib import Path

import pytest

from report_fake_runs import REPORT_CONFIG, make_fake_project

REPO = Path(__file__).resolve().parents[1]
FIGURES = (
    "per_emotion",
    "modality_ablation",
    "scatter",
    "stage1_curves",
    "fusion_weights",
    "pairwise",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("nb")
    fake = make_fake_project(root)
    cfg = json.dumps(REPORT_CONFIG)
    out = root / "out"
    run = lambda *args: subprocess.run(["emibench", *map(str, args)], check=True)
    data = [
        "--manifest",
        fake["manifest"],
        "--test-labels",
        fake["test_labels"],
        "--latents",
        fake["latents"],
        "--config",
        cfg,
    ]
    run(
        "collect",
        "--runs",
        *fake["runs"],
        "--results",
        out / "results.tsv",
        "--metrics",
        out / "metrics.json",
        "--lock",
        REPO / "envs" / "requirements.lock",
        "--config",
        cfg,
    )
    names = ("table2", "table3", "systems", "ablations", "per_emotion", "pairwise")
    tables = {t: out / "tables" / f"{t}.{{}}" for t in names}
    run(
        "tables",
        "--results",
        out / "results.tsv",
        *data,
        "--outputs",
        *[str(p).format(ext) for p in tables.values() for ext in ("csv", "md", "tex")],
    )
    figures = {f: out / "figures" / f"{f}.png" for f in FIGURES}
    run(
        "figures",
        "--results",
        out / "results.tsv",
        *data,
        "--tables",
        *[str(p).format("csv") for p in tables.values()],
        "--stage1-logs",
        *fake["stage1_logs"],
        "--outputs",
        *figures.values(),
    )
    board = {t: out / "tables" / f"{t}.{{}}" for t in ("leaderboard", "costs")}
    run(
        "leaderboard",
        "--results",
        out / "results.tsv",
        "--table",
        str(tables["systems"]).format("csv"),
        "--benchmarks",
        json.dumps({k: str(v) for k, v in fake["benchmarks"].items()}),
        "--config",
        cfg,
        "--outputs",
        *[str(board["leaderboard"]).format(ext) for ext in ("csv", "html")],
        str(board["costs"]).format("md"),
    )
    robustness_md = out / "tables" / "robustness.md"
    robustness_md.write_text(
        "| Method | clean | noise0db |\n|---|---|---|\n| DSCMN | 0.9 | 0.5; drop +0.4 |\n"
    )
    params = {
        "robustness": {
            "tables": {"robustness": str(robustness_md)},
            "figures": {"robustness": str(figures["scatter"])},
        },
        "dataset": "fake",
        "results_dir": out,
        "results_table": out / "results.tsv",
        "metrics": out / "metrics.json",
        "table1_md": fake["table1_md"],
        "data_report": fake["data_report"],
        "tables": {t: str(p).format("md") for t, p in {**tables, "costs": board["costs"]}.items()},
        "figures": {f: str(p) for f, p in figures.items()},
        "leaderboard": str(board["leaderboard"]).format("html"),
        "config": {
            "report": REPORT_CONFIG,
            "robustness": {"conditions": {"noise0db": [{"op": "noise", "snr_db": 0}]}},
        },
    }
    pairs = [
        x
        for k, v in params.items()
        for x in ("-p", k, json.dumps(v if isinstance(v, dict) else str(v)))
    ]
    run(
        "report",
        "--notebook",
        REPO / "workflow/notebooks/report.ipynb",
        "--out-notebook",
        out / "report.ipynb",
        "--html",
        out / "report.html",
        *pairs,
    )
    return out, figures


def test_figures_are_pngs(report):
    _, figures = report
    for path in figures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_report_html_holds_tables_and_embedded_images(report):
    out, _ = report
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= len(FIGURES)
    assert "V+A+T" in html and "Oracle" in html
    assert "Robustness" in html and "drop +0.4" in html and "noise0db" in html
    assert "torch" in html and "Traceback" not in html
    environment = json.loads((out / "metrics.json").read_text())["environment"]
    assert environment["lock"]["sha256"] in html and "devices of the runs" in html
    assert 'src="http' not in html  # standalone: no CDN script


def test_report_has_the_sortable_leaderboard_section(report):
    out, _ = report
    html = (out / "report.html").read_text()
    assert "Leaderboard" in html and 'id="emibench-leaderboard"' in html
    assert "data-sort=" in html and 'getElementById("emibench-leaderboard")' in html
    assert "Paired comparisons (Holm-corrected)" in html and "Holm" in html
    assert "Cost of every system and variant" in html and "(CPU)" in html
    # the leaderboard's tables and figure are shown once, in its own section
    assert html.count("Every pair of systems, and every ablation") == 1


def test_the_workflow_passes_the_parameters_the_notebook_declares_and_this_test_uses():
    """The parameters above are written by hand; the workflow's own report command (from a dry
    run of the default config) and the notebook's parameters cell must name the same ones."""
    import ast
    import shlex

    from workflow_commands import dry_run_commands

    command = next(c for c in dry_run_commands() if c.startswith("emibench report "))
    words = shlex.split(command)
    workflow = {words[k + 1] for k, word in enumerate(words) if word == "-p"}
    notebook = json.loads((REPO / "workflow/notebooks/report.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
    declared = {
        target.id
        for node in ast.parse("".join(cell["source"])).body
        if isinstance(node, ast.Assign)
        for target in node.targets
    }
    used = {"robustness", "dataset", "results_dir", "results_table", "metrics", "table1_md"}
    used |= {"data_report", "tables", "figures", "leaderboard", "config"}
    assert workflow == declared == used


def test_every_figure_is_embedded_as_drawn(report):
    """Each figure file is a real plot (not blank) and the HTML embeds exactly its bytes."""
    import base64

    import matplotlib.image as mpimg

    out, figures = report
    html = (out / "report.html").read_text()
    for name, path in figures.items():
        image = mpimg.imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 200, name
        assert image[..., :3].std() > 0.01, f"{name} is blank"
        assert base64.b64encode(path.read_bytes()).decode() in html, f"{name} not embedded"
