"""Stage I training: a smoke run on random tensors whose loss falls, and the CLI on fake stores."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from emibench.cli import main
from emibench.data.store import SequenceReader
from emibench.stage1.checkpoint import load_stage1
from emibench.stage1.data import PairClips
from emibench.stage1.model import ContrastivePair
from emibench.stage1.train import LOG_COLUMNS, PairSide, Stage1Settings, evaluate, train_pair
from features_fakes import MINILM, features_argv, tiny_models, write_manifest, write_shard


def test_heads_learn_to_align_random_paired_tensors():
    g = torch.Generator().manual_seed(0)
    n, d_media, d_text = 64, 24, 16
    segments = [
        torch.randn(int(torch.randint(1, 5, (1,), generator=g)), d_media, generator=g)
        for _ in range(n)
    ]
    mixing = torch.randn(d_media, d_text, generator=g)
    text = torch.stack([s.mean(0) for s in segments]) @ mixing + 0.1 * torch.randn(
        n, d_text, generator=g
    )
    torch.manual_seed(0)
    pair = ContrastivePair(d_media, d_text, proj_dim=16)
    optimizer = torch.optim.AdamW(pair.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = pair.loss(pair.media_embedding(segments), pair.text_embedding(text))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        pair.clamp_temperature()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert 0.01 <= pair.temperature <= 1.0


def test_heads_standardise_their_input_with_the_fitted_statistics():
    head = ContrastivePair(3, 2, proj_dim=4).media_head
    x = torch.tensor([[1.0, 10.0, -5.0], [3.0, 30.0, -5.0]])
    before = head(x)
    torch.testing.assert_close(before, head.net(x))  # unfitted: the identity
    head.fit_standardization(x)
    torch.testing.assert_close(head.shift, torch.tensor([2.0, 20.0, -5.0]))
    torch.testing.assert_close(
        head(x), head.net(torch.tensor([[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]]))
    )
    restored = ContrastivePair(3, 2, proj_dim=4)
    restored.load_state_dict(
        ContrastivePair(3, 2, proj_dim=4).state_dict()
        | {f"media_head.{k}": v for k, v in head.state_dict().items()}
    )
    torch.testing.assert_close(restored.media_head(x), head(x))


class _FrozenEncoder(torch.nn.Module):
    """Stands in for an encoder whose outputs are cached: a width and no blocks to unfreeze."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def tail_modules(self, k):
        return []


def _random_side(g, n, mixing, prefix):
    """n clips whose segment means (2, D_media) map to their text vectors through ``mixing``."""
    segments = torch.randn(n, 2, mixing.shape[0], generator=g)
    text = segments.mean(1) @ mixing + 0.5 * torch.randn(n, mixing.shape[1], generator=g)
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    index = {clip_id: i for i, clip_id in enumerate(ids)}
    return PairSide(
        PairClips(ids, [f"text {i}" for i in range(n)]),
        lambda batch: [segments[index[c]] for c in batch],
        lambda batch: text[[index[c] for c in batch]],
    )


@pytest.mark.parametrize("select", ["best_cycle", "last"])
def test_the_kept_model_is_the_selected_epochs(select):
    g = torch.Generator().manual_seed(0)
    mixing = torch.randn(12, 8, generator=g)
    train, valid, test = (
        _random_side(g, n, mixing, p) for n, p in ((48, "t"), (16, "v"), (16, "s"))
    )
    settings = Stage1Settings(
        epochs=6, batch_size=16, lr_max=3e-2, lr_min=1e-4, cycle_epochs=2, proj_dim=8, select=select
    )
    pair, log = train_pair(
        train, valid, _FrozenEncoder(12), _FrozenEncoder(8), settings, torch.device("cpu"), test
    )
    assert list(log.columns) == LOG_COLUMNS and log["selected"].sum() == 1
    kept = log[log["selected"]].iloc[0]
    if select == "last":
        assert kept["epoch"] == 6
    else:
        candidates = log[log["epoch"].isin([2, 4, 6])]
        best = max(zip(candidates["valid_recall_at_5"], candidates["valid_recall_at_1"]))
        assert (kept["valid_recall_at_5"], kept["valid_recall_at_1"]) == best
    pair.eval()
    again = evaluate(pair, valid, settings.batch_size) | evaluate(
        pair, test, settings.batch_size, "test"
    )
    for key, value in again.items():
        assert value == pytest.approx(kept[key], rel=1e-5), key


def test_select_must_be_known():
    with pytest.raises(ValueError, match="select must be one of"):
        Stage1Settings(select="best")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage1")
    train = [f"{i:05d}" for i in range(24)]
    valid = [f"{i:05d}" for i in range(100, 112)]
    paths = {
        "train": write_shard(
            root, "train", 0, train, missing_frames=("00002",), empty_text=("00005",)
        ),
        "valid": write_shard(root, "valid", 0, valid),
    }
    paths["manifest"] = write_manifest(
        root / "manifest.tsv", {("train", 0): train, ("valid", 0): valid}
    )
    paths["models"] = tiny_models(tmp_path_factory.getbasetemp())
    paths["root"] = root
    return paths


def _train(data, pair, media, settings, out, test=False):
    models = data["models"]
    spec = (
        {"model_name": str(models["clip"])}
        if pair == "vision_text"
        else {"name": str(models["wav2vec2"])}
    )
    argv = [
        "stage1",
        "--pair",
        pair,
        "--train-media",
        str(data["train"][media]),
        "--valid-media",
        str(data["valid"][media]),
        "--train-transcripts",
        str(data["train"]["transcripts"]),
        "--valid-transcripts",
        str(data["valid"]["transcripts"]),
        "--media-encoder",
        json.dumps(spec),
        "--text-encoder",
        json.dumps({"name": MINILM, "max_length": 32}),
        "--settings",
        json.dumps(
            {
                "proj_dim": 16,
                "batch_size": 8,
                "lr_max": 3e-3,
                "lr_min": 1e-5,
                "head_lr": 3e-3,
                "segments": 2,
                **settings,
            }
        ),
        "--extract",
        json.dumps({"batch_size": 16, "official_source": "auto"}),
        "--checkpoint",
        str(out / "checkpoint.pt"),
        "--log",
        str(out / "log.tsv"),
        "--device",
        "cpu",
    ]
    if test:  # the valid shard again, so test's figures must equal valid's
        argv += [
            "--test-media",
            str(data["valid"][media]),
            "--test-transcripts",
            str(data["valid"]["transcripts"]),
        ]
    assert main(argv) == 0
    return pd.read_csv(out / "log.tsv", sep="\t"), out / "checkpoint.pt"


def test_vision_text_cli_logs_epochs_and_counts_left_out_clips(data, tmp_path, capsys):
    log, ckpt = _train(
        data, "vision_text", "frames", {"epochs": 4, "cycle_epochs": 2}, tmp_path, test=True
    )
    assert list(log.columns) == LOG_COLUMNS
    for k in (1, 5):
        assert log[f"test_recall_at_{k}"].tolist() == log[f"valid_recall_at_{k}"].tolist()
    assert log["epoch"].tolist() == [1, 2, 3, 4]
    assert (log["n_train"] == 22).all() and (log["n_left_out"] == 2).all()
    assert log["lr"][0] == pytest.approx(3e-3) and log["lr"][2] == pytest.approx(
        3e-3
    )  # restart at epoch 3
    assert log["lr"][1] < log["lr"][0]
    assert log["valid_chance_at_1"][0] == pytest.approx(1 / 12)
    assert log["train_loss"].iloc[-1] < log["train_loss"].iloc[0]
    assert (
        (log["valid_recall_at_1"] >= 0) & (log["valid_recall_at_5"] >= log["valid_recall_at_1"])
    ).all()
    stage = load_stage1(ckpt)
    assert stage.pair_name == "vision_text" and stage.pair.media_head.out_dim == 16
    selected = torch.load(ckpt, weights_only=True)["selected_epoch"]
    assert selected in (2, 4) and log.loc[log["selected"], "epoch"].tolist() == [selected]

    out = tmp_path / "features"
    shard = data["valid"]
    argv = features_argv(
        "stage1",
        "valid",
        data["manifest"],
        shard,
        out,
        stage1={"visual": ckpt, "audio": ckpt, "text": ckpt},
    )
    capsys.readouterr()
    assert main(argv) == 1
    assert "the audio store comes from the Stage I pair audio_text" in capsys.readouterr().err


def test_audio_text_with_an_unfrozen_block_saves_and_restores_it(data, tmp_path):
    log, ckpt = _train(data, "audio_text", "audio", {"epochs": 2, "train_layers": 1}, tmp_path)
    assert len(log) == 2 and np.isfinite(log["valid_loss"]).all()
    saved = torch.load(ckpt, weights_only=True)
    media_state, text_state = saved["encoder_state"]["media"], saved["encoder_state"]["text"]
    assert media_state and all(k.startswith("model.encoder.") for k in media_state)
    assert text_state and all(".layer.5." in k for k in text_state)
    stage = load_stage1(ckpt)
    restored = dict(stage.media_encoder.named_parameters())
    for name, value in media_state.items():
        torch.testing.assert_close(restored[name].detach(), value)
    fresh = dict(tiny_models_params(data))
    assert any(not torch.equal(fresh[k], v) for k, v in media_state.items())  # the block did train


def tiny_models_params(data):
    from emibench.encoders.registry import load_audio

    return {
        k: v.detach() for k, v in load_audio(str(data["models"]["wav2vec2"])).named_parameters()
    }


def test_stage1_feature_set_has_the_projection_width(data, tmp_path):
    _, vt = _train(data, "vision_text", "frames", {"epochs": 1}, tmp_path / "vt")
    _, at = _train(data, "audio_text", "audio", {"epochs": 1}, tmp_path / "at")
    out, shard = tmp_path / "features", data["valid"]
    argv = features_argv(
        "stage1",
        "valid",
        data["manifest"],
        shard,
        out,
        stage1={"visual": vt, "audio": at, "text": vt},
    )
    assert main(argv) == 0
    frames = SequenceReader(shard["frames"])
    for name in "vat":
        store = SequenceReader(out / name)
        assert store.store_attrs()["featset"] == "stage1" and store.store_attrs()["dim"] == 16
        clip = store.ids()[0]
        assert store[clip].dtype == np.float16 and store[clip].shape[1] == 16
        if name != "t":
            assert len(store[clip]) == len(frames[clip])


def test_heads_and_temperature_have_their_own_optimizer_groups(tmp_path):
    """New heads train at head_lr, the pretrained blocks at lr_max; the temperature is never
    weight-decayed (as CLIP); SGDR anneals every group with the same shape."""
    from emibench.encoders.registry import load_encoder
    from emibench.stage1.schedule import SGDR
    from emibench.stage1.train import param_groups

    models = tiny_models(tmp_path)
    encoder = load_encoder("vision", {"model_name": str(models["clip"])})
    text = load_encoder("text", {"name": MINILM})
    settings = Stage1Settings(head_lr=1e-2, lr_max=1e-5, lr_min=1e-7, train_layers=1)
    pair = ContrastivePair(encoder.dim, text.dim, proj_dim=8)
    groups = param_groups(pair, encoder, text, settings)
    heads, temperature, blocks = groups
    assert pair.logit_scale in temperature["params"] and temperature["weight_decay"] == 0.0
    assert all(p is not pair.logit_scale for p in heads["params"])
    assert heads["lr"] == 1e-2 and heads["weight_decay"] == settings.weight_decay
    assert blocks["lr"] == 1e-5 and len(blocks["params"]) > 0
    optimizer = torch.optim.AdamW(groups)
    schedule = SGDR(optimizer, 4, settings.lr_max, settings.lr_min)
    for _ in range(2):
        schedule.step()
    ratios = [g["lr"] / g["peak_lr"] for g in optimizer.param_groups]
    assert ratios == pytest.approx([ratios[0]] * 3) and ratios[0] < 1
    frozen = Stage1Settings(head_lr=1e-2, train_layers=0)
    assert len(param_groups(pair, encoder, text, frozen)) == 2
