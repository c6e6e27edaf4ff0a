"""benchmarks/scale.py: the pure parts (benchmark files, aggregation, fitting, the disk model)."""

import importlib.util
import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_scale", REPO / "benchmarks/scale.py")
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_bench(path: Path, wall: float, rss: str, cpu: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t10\t{cpu}\n")


def test_rule_costs_sum_time_and_max_memory(tmp_path):
    write_bench(tmp_path / "frames/train_00.tsv", 2.0, "100.5", "1.5")
    write_bench(tmp_path / "frames/valid_00.tsv", 3.0, "300.0", "2.5")
    write_bench(tmp_path / "frames/test_00.tsv", 0.4, "3.2", "0.0")  # sampled its shell only
    write_bench(tmp_path / "manifest/manifest.tsv", 1.0, "NA", "NA")  # a job too short to sample
    costs = scale.rule_costs(tmp_path)
    assert costs["frames"] == {"jobs": 3, "wall_s": 5.4, "cpu_s": 4.0, "max_rss_mb": 300.0}
    manifest = costs["manifest"]
    assert (manifest["jobs"], manifest["wall_s"], manifest["cpu_s"]) == (1, 1.0, 0.0)
    assert math.isnan(manifest["max_rss_mb"])


def test_fit_power_recovers_exponent_and_skips_zeros():
    sizes = [60, 120, 240]
    a, b = scale.fit_power(sizes, [3.0 * n**1.5 for n in sizes])
    assert b == pytest.approx(1.5) and a == pytest.approx(3.0)
    assert all(math.isnan(v) for v in scale.fit_power(sizes, [0.0, 0.0, 5.0]))  # one point
    assert scale.fit_power(sizes, [0.0, 2.0, 4.0])[1] == pytest.approx(1.0)


def test_growth_rows_flag_superlinear_rules():
    sizes = [10, 20, 40]
    costs = {
        10: {"linear": {"cpu_s": 1.0}, "square": {"cpu_s": 1.0}},
        20: {"linear": {"cpu_s": 2.0}, "square": {"cpu_s": 4.0}},
        40: {"linear": {"cpu_s": 4.0}, "square": {"cpu_s": 16.0}, "late": {"cpu_s": 1.0}},
    }
    rows = {r["key"]: r for r in scale.growth_rows(sizes, scale.metric_by_rule(costs, "cpu_s"))}
    assert rows["linear"]["b"] == pytest.approx(1.0) and not rows["linear"]["flag"]
    assert rows["square"]["b"] == pytest.approx(2.0) and rows["square"]["flag"]
    assert rows["late"]["values"] == [0.0, 0.0, 1.0] and not rows["late"]["flag"]
    table = scale.markdown_table("rule", sizes, list(rows.values()))
    assert rows["square"]["b_last"] == pytest.approx(2.0)
    assert "| square | 1.0 | 4.0 | 16.0 | 2.00 | 2.00 | **yes** |" in table


def test_store_folders_name_every_store(tmp_path):
    results = tmp_path / "results"
    for folder in (
        "frames/train",
        "audio/valid",
        "transcripts/sets/taemi/train",
        "features/frozen/audio/train",
        "features/stage1_seed0/text/valid",
        "robustness/occlusion50/frames/valid",
        "robustness/occlusion50/features/frozen/visual/valid",
        "runs/dscmn/VAT_stage1/seed0",
    ):
        (results / folder).mkdir(parents=True)
        (results / folder / "00.h5").write_bytes(b"x" * 10)
    sizes = scale.store_bytes(results)
    assert sizes == {
        "frames": 10,
        "audio": 10,
        "runs": 10,
        "transcripts": 10,
        "transcripts/sets/taemi": 10,
        "features/frozen/audio": 10,
        "features/stage1_seed0/text": 10,
        "robustness/occlusion50/features/frozen/visual": 10,
        "robustness/occlusion50/frames": 10,
    }


def test_split_counts_keep_the_real_shares():
    assert scale.split_counts(60) == {"train": 28, "valid": 16, "test": 16}
    assert sum(scale.split_counts(1000).values()) == 1000
    assert min(scale.split_counts(5).values()) >= 2


def test_disk_model_at_paper_widths():
    config = {
        "preprocess": {
            "frames": {"rate_hz": 5.0, "size": 224},
            "audio": {"sample_rate": 16000},
        },
        "features": {"keep_raw_audio": True},
        "encoders": {"text": {"max_length": 128}},
        "stage1": {"features": "encoder", "proj_dim": 256},
    }
    widths = {
        "vision": 768,
        "audio": 1024,
        "text": 768,
        "taemi_vision": 768,
        "official_visual": 384,
        "official_audio": 768,
    }
    model = scale.disk_model(config, widths)
    assert model["frames"]["per_s"] == 5 * 224 * 224 * 3
    assert model["audio"]["per_s"] == 16000 * 4
    assert model["features/frozen/audio"]["per_s"] == (5 + 50) * 1024 * 2
    assert model["features/official/visual"]["per_s"] == 5 * 384 * 2
    assert model["features/stage1/text"]["per_clip_max"] == 129 * 768 * 2
    assert "features/taemi/audio" not in model
