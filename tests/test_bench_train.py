"""`emibench bench train`: every trained system of a config is built and timed (no timing asserted)."""

from pathlib import Path

import pytest
import yaml

from emibench.bench.train import parse_dims, trained_systems
from emibench.cli import main

DEMO = Path(__file__).parents[1] / "config" / "config.yaml"


def test_trained_systems_take_their_widths_from_the_feature_set():
    """stage1 features are the Stage I encoders' outputs (their widths), or with stage1.features
    head the projection heads' (proj_dim)."""
    config = yaml.safe_load(DEMO.read_text())
    config["stage1"]["features"] = "encoder"
    official, encoders = parse_dims("V=7,A=8,T=9"), parse_dims("V=5,A=6,T=4", "--encoder-dims")
    systems = dict(trained_systems(config, official, encoders))
    assert "baseline_fusion" not in systems  # a fusion of runs trains nothing
    assert "late_fusion" not in systems
    assert systems["dscmn"]["dims"] == {"V": 5, "A": 6, "T": 4}
    assert systems["baseline_vit_gru"]["dims"] == {"V": 7, "A": 8, "T": 9}
    heads = {**config, "stage1": {**config["stage1"], "features": "head"}}  # the demo's
    proj = config["stage1"]["proj_dim"]
    assert dict(trained_systems(heads, official, encoders))["dscmn"]["dims"] == dict.fromkeys(
        "VAT", proj
    )
    with pytest.raises(ValueError, match="--encoder-dims: .*X=3"):
        parse_dims("V=1,X=3", "--encoder-dims")


def test_bench_prints_a_figure_per_system(capsys):
    assert (
        main(["bench", "train", "--configs", str(DEMO), "--devices", "cpu", "--seconds", "0.01"])
        == 0
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if "clips/s" in line]
    systems = {line.split()[1] for line in lines}
    assert systems == {
        "baseline_vit_gru",
        "baseline_w2v_linear",
        "dscmn",
        "taemi",
        "concat_mlp",
        "pooled_mlp",
    }  # late_fusion trains on other runs' predictions, not on features
