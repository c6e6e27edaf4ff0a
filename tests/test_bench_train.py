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


def _e2e_config(tmp_path) -> Path:
    """The demo config with TAEMI's end-to-end encoders at test size."""
    from features_fakes import tiny_models

    models = tiny_models(tmp_path)
    config = yaml.safe_load(DEMO.read_text())
    config["encoders"]["taemi_audio"] = {"name": str(models["wav2vec2_emotion"]), "layer": -1}
    config["encoders"]["taemi_text"] = {"name": str(models["distilbert"]), "max_length": 16}
    path = tmp_path / "e2e.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_variant_trains_its_encoders_end_to_end(tmp_path, capsys):
    """taemi/VAT_taemi is built as the trainer builds it: encoders inside, raw waves and token
    ids in the batches; batch sizes and checkpointing settings are configurations."""
    config = _e2e_config(tmp_path)
    argv = ["bench", "train", "--configs", str(config), "--devices", "cpu", "--seconds", "0.01"]
    argv += ["--systems", "taemi/VAT_taemi", "dscmn", "--batch-size", "2", "3"]
    assert main([*argv, "--gradient-checkpointing", "off", "on", "--clip-seconds", "1", "2"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "clips/s" in line]
    assert [line.split()[1] for line in lines] == ["taemi/VAT_taemi"] * 4 + ["dscmn"] * 4
    assert [line.split("ckpt")[1].split()[0] for line in lines[:4]] == ["off", "on"] * 2
    assert "batch    3" in lines[2]
    assert main(["bench", "train", "--configs", str(config), "--systems", "taemi/nope"]) == 1
    assert "taemi/nope" in capsys.readouterr().err


def test_memory_prints_a_peak_per_configuration(tmp_path, capsys):
    """--memory: each configuration's peak resident set, from a fresh child process."""
    config = _e2e_config(tmp_path)
    argv = ["bench", "train", "--configs", str(config), "--devices", "cpu", "--memory"]
    argv += ["--systems", "taemi/VAT_taemi", "--batch-size", "2", "--clip-seconds", "1", "1"]
    assert main([*argv, "--gradient-checkpointing", "on"]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if "peak RSS" in line and not line.startswith("#")]
    assert lines and all("ckpt on" in line for line in lines)
    peak = float(lines[-1].split("peak RSS")[1].split()[0])
    built = float(lines[-1].split("built")[1].split()[0])
    assert peak >= built > 0
