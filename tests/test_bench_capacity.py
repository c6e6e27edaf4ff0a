"""benchmarks/capacity.py on the committed CSVs and config/vidmimic2.yaml (docs/scale.md)."""

import importlib.util
import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_capacity", REPO / "benchmarks/capacity.py")
capacity = importlib.util.module_from_spec(spec)
spec.loader.exec_module(capacity)

SECONDS = 33 * 3600 + 23 * 60


@pytest.fixture(scope="module")
def tables():
    return capacity.build()


def test_no_job_of_the_real_config_asks_for_less_memory_than_the_plan(tables):
    short = [
        (r["rule"], round(r["estimate_gb"], 1), r["ask_mb"])
        for r in tables["memory"]
        if not r["fits"]
    ]
    assert short == []


def test_a_train_job_loads_each_seeds_stage1_stores_in_turn(tables):
    row = next(r for r in tables["train"] if r["job"] == "dscmn/VAT_stage1")
    assert row["loads"] == 3  # one per seed: each reads its own Stage I seed's stores
    # native audio: 50 Wav2Vec2 rows a second x 1,024 x float16 over 33 h 23 min
    assert row["per_load"]["A"] == pytest.approx(50 * 1024 * 2 * SECONDS)
    # visual: 5 rows a second plus one a clip, 768 wide; text: its max_length bound and CLS
    assert row["per_load"]["V"] == pytest.approx((5 * SECONDS + 17246) * 768 * 2)
    assert row["per_load"]["T"] == pytest.approx(17246 * 130 * 768 * 2)
    assert row["bytes"] / 1e9 == pytest.approx(16.7, abs=0.05)  # one seed's load at a time
    taemi = next(r for r in tables["train"] if r["job"] == "taemi/VAT_taemi")
    # raw audio cut to 12 s as float16: the clips' seconds bound it (mean 7.0 s < 12 s)
    assert taemi["per_load"]["wave"] == pytest.approx(SECONDS * 16000 * 2)


def test_the_predict_job_of_a_condition_without_audio_holds_no_audio(tables):
    rows = {r["condition"]: r for r in tables["predict"]}
    assert rows["audio_removed"]["bytes"] < rows["babble0db"]["bytes"] / 2
    assert rows["occlusion50"]["loads"] == rows["babble0db"]["loads"]


def test_cpu_hours_extrapolate_the_ladder_by_media_seconds(tables):
    ladder = capacity.read_ladder()
    cpu = ladder.rules["frames"]["cpu_s"]
    frames = next(r for r in tables["cpu"] if r["rule"] == "frames")
    ratio = SECONDS / ladder.seconds["all"]
    assert 2 < ratio <= SECONDS / (2.0 * ladder.clips)  # the ladder's clips last 2-4 s
    assert frames["linear_h"] == pytest.approx(cpu["top"] * ratio / 3600)
    assert frames["power_h"] == pytest.approx(cpu["top"] * ratio ** min(cpu["b"], 1.0) / 3600)
    assert frames["jobs"] == (3, 128) and not frames["gpu"]


def test_the_ladder_csv_gives_its_largest_size_and_every_rule(tmp_path):
    ladder = capacity.read_ladder()
    assert ladder.sizes == tuple(sorted(ladder.sizes)) and len(ladder.sizes) >= 2
    assert sum(ladder.splits.values()) == ladder.clips
    assert ladder.seconds["valid"] < ladder.seconds["all"]
    assert {"train", "stage1", "transcribe_set"} <= set(ladder.rules)
    assert len(ladder.rules["train"]["cpu_s"]["values"]) == len(ladder.sizes)
    old = tmp_path / "growth.csv"
    old.write_text("table,b,b_last_two,flag,key,metric,n40,n80\nrun,0,0,False,jobs,jobs,1,1\n")
    with pytest.raises(SystemExit, match="clips \\(train\\)"):
        capacity.read_ladder(old)


def test_an_unsampled_rehearsal_job_leaves_the_ladders_floor():
    unsampled = {"train/dscmn_V_stage1": {"max_rss_mb": math.nan}}
    assert capacity.train_fixed_mb(unsampled, "dscmn/V_stage1", 2596.0) == 2596.0
    rss = capacity.rehearsal_rule_rss(
        {"fuse/a": {"max_rss_mb": math.nan}, "fuse/b": {"max_rss_mb": 77.0}}
    )
    assert rss == {"fuse": 77.0}


def test_job_counts_follow_the_real_config(tables):
    ladder, real = tables["jobs"]
    assert real["frames"] == 64 + 32 + 32 and ladder["frames"] == 3
    assert real["robustness_predict"] == 18 and ladder["robustness_predict"] == 3
    assert real["stage1"] == 3 and real["train"] == 30


def test_gpu_hours_scale_inversely_with_the_rates(tables):
    config, plan = capacity.real_plan()
    faster = {k: v * 2 for k, v in capacity.ASSUMED_RATES.items() if "RTF" not in k}
    faster.update({k: v / 2 for k, v in capacity.ASSUMED_RATES.items() if "RTF" in k})
    base = sum(r["gpu_s"] for r in tables["gpu"])
    assert sum(r["gpu_s"] for r in capacity.gpu_plan(config, plan, faster)) == pytest.approx(
        base / 2
    )
