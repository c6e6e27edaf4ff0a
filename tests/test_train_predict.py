"""`emibench predict`: a saved run on its own clean stores reproduces its predictions exactly; a
fused run averages its members' new predictions; a condition's store changes what it should."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emibench.cli import main
from emibench.data.store import SequenceReader, SequenceWriter
from emibench.plan.jobs import ConditionRun, PredictJob
from fake_train_inputs import DIMS, DSCMN, write_fake_inputs
from jobs import job_argv, run_job, runs_argv

TRAIN = {"epochs": 3, "batch_size": 16, "lr": 0.005, "patience": 3, "ema_decay": 0.9}
# (system, variant, modalities, model, extra train settings)
RUNS = (
    (
        "dscmn",
        "VAT",
        "VAT",
        DSCMN,
        {"max_steps": 12},
    ),
    ("taemi", "VAT", "VAT", {"name": "taemi", "hidden": 16, "heads": 2, "head_hidden": 16}, {}),
    (
        "taemi",
        "VAT_zeros",
        "VAT",
        {"name": "taemi", "hidden": 16, "heads": 2, "head_hidden": 16, "missing_tokens": False},
        {},
    ),
    ("vit_gru", "V", "V", {"name": "vit_gru", "hidden": 8, "layers": 2}, {"ema_decay": 0.0}),
    ("w2v_linear", "A", "A", {"name": "w2v_linear"}, {"standardize": False, "ema_decay": 0.0}),
)
SPLITS = ("valid", "test")


def _split_paths(paths: list[Path], splits=SPLITS) -> list[str]:
    return [str(p) for p in paths if p.parent.name in splits]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    fake = write_fake_inputs(
        root, n={"train": 48, "valid": 24, "test": 16}, dims=DIMS, featsets=("stage1",)
    )
    stores = fake["stores"]["stage1"]
    runs = {}
    for system, variant, modalities, model, train in RUNS:
        out = root / "runs" / system / variant / "seed0"
        config = {
            "features": "stage1",
            "modalities": modalities,
            "model": model,
            "train": {**TRAIN, **train},
        }
        job = run_job(system, variant, 0, out, config, {m: stores[m] for m in modalities})
        assert main(runs_argv("train", [job], fake["manifest"], fake["test_labels"])) == 0
        runs[(system, variant)] = out
    fused = root / "runs" / "fusion" / "VA" / "seed0"
    members = [runs[("vit_gru", "V")], runs[("w2v_linear", "A")]]
    config = {"features": "stage1", "modalities": "VA", "fuse": ["vit_gru/V", "w2v_linear/A"]}
    job = run_job("fusion", "VA", 0, fused, config, members=members)
    argv = runs_argv("fuse", [job], fake["manifest"], fake["test_labels"], device=False)
    assert main(argv) == 0
    return root, fake, runs, fused


def _predict(fake, runs, fused, out_root, stores, condition="clean"):
    """Every run predicts valid and test from ``stores`` ({modality: paths}) into out_root."""
    groups = {m: f"g{k}" for k, m in enumerate(stores)}
    outs, jobs = {}, []
    for (system, variant), run in runs.items():
        modalities = next(r[2] for r in RUNS if r[:2] == (system, variant))
        outs[(system, variant)] = out_root / system / variant
        named = {m: groups[m] for m in modalities}
        jobs.append(ConditionRun("model", str(run), str(outs[(system, variant)]), named))
    member_outs = [str(outs[("vit_gru", "V")]), str(outs[("w2v_linear", "A")])]
    outs[("fusion", "VA")] = out_root / "fusion" / "VA"
    jobs.append(ConditionRun("fuse", str(fused), str(outs[("fusion", "VA")]), {}, member_outs))
    job = PredictJob(
        condition,
        [],
        list(SPLITS),
        str(fake["manifest"]),
        str(fake["test_labels"]),
        {groups[m]: list(paths) for m, paths in stores.items()},
        jobs,
        str(out_root / "results.tsv"),
    )
    assert main(job_argv("predict", job)) == 0
    return outs


def test_saved_runs_reproduce_their_own_predictions_on_the_clean_stores(trained, tmp_path):
    _root, fake, runs, fused = trained
    clean = {m: _split_paths(fake["stores"]["stage1"][m]) for m in "VAT"}
    outs = _predict(fake, runs, fused, tmp_path, clean)
    for ident, run in [*runs.items(), (("fusion", "VA"), fused)]:
        out = outs[ident]
        for split in SPLITS:
            mine = pd.read_csv(run / f"predictions_{split}.csv", dtype={"id": str})
            again = pd.read_csv(out / f"predictions_{split}.csv", dtype={"id": str})
            pd.testing.assert_frame_equal(mine, again, check_exact=True, obj=f"{ident} {split}")
            weights = run / f"fusion_weights_{split}.csv"
            assert weights.exists() == (ident[0] != "fusion")
            if weights.exists():
                rows = len(pd.read_csv(weights))
                assert (rows > 0) == (ident[0] == "dscmn"), "only DSCMN has fusion weights"
                pd.testing.assert_frame_equal(
                    pd.read_csv(weights, dtype={"id": str}),
                    pd.read_csv(out / weights.name, dtype={"id": str}),
                    check_exact=True,
                )
        metrics = json.loads((out / "metrics.json").read_text())
        original = json.loads((run / "metrics.json").read_text())
        assert metrics["condition"] == "clean" and metrics["run_dir"] == str(run)
        assert (metrics["system"], metrics["variant"], metrics["seed"]) == (*ident, 0)
        for split in SPLITS:
            assert metrics["splits"][split]["mean_pearson"] == pytest.approx(
                original["splits"][split]["mean_pearson"], abs=1e-12
            )
            assert metrics["splits"][split]["n_missing"] == original["splits"][split]["n_missing"]


def _all_missing(paths: list[str], out_dir: Path, dim: int) -> list[str]:
    """Copies of text stores with every clip missing (what remove_text leads to)."""
    outs = []
    for path in paths:
        out = out_dir / Path(path).parent.name / Path(path).name
        with SequenceReader([path]) as reader:
            ids = list(reader.ids())
            attrs = reader.store_attrs()
        with SequenceWriter(
            out, **{k: attrs[k] for k in ("kind", "featset", "modality")}, dim=dim
        ) as w:
            for clip in ids:
                w.write(
                    clip,
                    np.zeros((0, dim), np.float16),
                    {"cls": np.zeros(dim, np.float16)},
                    missing=True,
                    reason="removed by condition text_removed",
                )
        outs.append(str(out))
    return outs


def test_a_condition_store_changes_only_the_runs_that_read_it(trained, tmp_path):
    _root, fake, runs, fused = trained
    stores = {m: _split_paths(fake["stores"]["stage1"][m]) for m in "VAT"}
    stores["T"] = _all_missing(stores["T"], tmp_path / "text_removed", DIMS["T"])
    outs = _predict(fake, runs, fused, tmp_path / "out", stores, condition="text_removed")
    n_valid = 24
    for ident, out in outs.items():
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["condition"] == "text_removed"
        changed = ident[0] in ("dscmn", "taemi")
        run = fused if ident == ("fusion", "VA") else runs[ident]
        same = pd.read_csv(run / "predictions_valid.csv").equals(
            pd.read_csv(out / "predictions_valid.csv")
        )
        assert same != changed, ident
        if changed:
            assert metrics["splits"]["valid"]["n_missing"]["T"] == n_valid


def test_a_condition_that_changes_nothing_predicts_as_the_run_did_in_its_precision(
    trained, tmp_path, monkeypatch
):
    """An identity condition gives the clean predictions exactly, and every prediction (clean
    in training, under the condition) runs in the precision the run trained with."""
    from emibench.train import trainer

    _root, fake, _runs, _fused = trained
    stores = fake["stores"]["stage1"]
    config = {
        "features": "stage1",
        "modalities": "VAT",
        "model": DSCMN,
        "train": {**TRAIN, "max_steps": 12, "precision": "auto"},
    }
    seen = []
    real = trainer.autocast
    monkeypatch.setattr(
        trainer,
        "autocast",
        lambda device, precision: seen.append(precision) or real(device, precision),
    )
    run = tmp_path / "run"
    job = run_job("dscmn", "VAT_auto", 0, run, config, {m: stores[m] for m in "VAT"})
    assert main(runs_argv("train", [job], fake["manifest"], fake["test_labels"])) == 0
    assert seen and set(seen) == {"auto"}
    seen.clear()
    clean = {m: _split_paths(stores[m]) for m in "VAT"}
    out = tmp_path / "identity"
    job = PredictJob(
        "identity",
        [],
        list(SPLITS),
        str(fake["manifest"]),
        str(fake["test_labels"]),
        {m: paths for m, paths in clean.items()},
        [ConditionRun("model", str(run), str(out), {m: m for m in "VAT"})],
        str(tmp_path / "results.tsv"),
    )
    assert main(job_argv("predict", job)) == 0
    assert seen and set(seen) == {"auto"}, "predictions under a condition use the run's precision"
    for split in SPLITS:
        pd.testing.assert_frame_equal(
            pd.read_csv(run / f"predictions_{split}.csv", dtype={"id": str}),
            pd.read_csv(out / f"predictions_{split}.csv", dtype={"id": str}),
            check_exact=True,
        )
    table = pd.read_csv(tmp_path / "results.tsv", sep="\t")
    assert set(table["condition"]) == {"identity"} and set(table["split"]) == set(SPLITS)
