"""Stage I training: smoke runs on random tensors (one pair, and both pairs with clips lacking a
medium), the CLI on fake stores (one pair and joint), checkpoints and the stage1 feature set."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from emibench.cli import main
from emibench.data.store import SequenceReader
from emibench.settings import ConfigError
from emibench.stage1.checkpoint import load_stage1
from emibench.stage1.data import Stage1Clips
from emibench.stage1.model import ContrastivePair
from emibench.stage1.train import (
    LOG_COLUMNS,
    Side,
    Stage1Settings,
    evaluate,
    selection_score,
    stage1_settings,
    train_stage1,
)
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


def _random_side(g, n, mixings, prefix, lacking=None):
    """n clips whose segment means (2, D_pair) map to their text vectors through each pair's
    ``mixings[pair]``; ``lacking[pair]`` ids (by index) have no medium of that pair."""
    d_text = next(iter(mixings.values())).shape[1]
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    index = {clip_id: i for i, clip_id in enumerate(ids)}
    latent = torch.randn(n, d_text, generator=g)
    segments = {}
    for pair, mixing in mixings.items():
        seg = torch.randn(n, 2, mixing.shape[0], generator=g)
        latent = latent + seg.mean(1) @ mixing
        segments[pair] = seg
    media = {
        pair: {i for k, i in enumerate(ids) if k not in (lacking or {}).get(pair, ())}
        for pair in mixings
    }

    def lookup(seg):
        return lambda batch: [seg[index[c]] for c in batch]

    return Side(
        Stage1Clips(ids, [f"text {i}" for i in range(n)], media),
        {pair: lookup(seg) for pair, seg in segments.items()},
        lambda batch: latent[[index[c] for c in batch]],
    )


@pytest.mark.parametrize("select", ["best_cycle", "last"])
def test_the_kept_model_is_the_selected_epochs(select):
    g = torch.Generator().manual_seed(0)
    mixings = {"vision_text": torch.randn(12, 8, generator=g)}
    train, valid, test = (
        _random_side(g, n, mixings, p) for n, p in ((48, "t"), (16, "v"), (16, "s"))
    )
    settings = Stage1Settings(
        epochs=6, batch_size=16, lr_max=3e-2, lr_min=1e-4, cycle_epochs=2, proj_dim=8, select=select
    )
    encoders = {"visual": _FrozenEncoder(12), "text": _FrozenEncoder(8)}
    pairs, log = train_stage1(
        train, valid, encoders, ["vision_text"], settings, torch.device("cpu"), test
    )
    assert list(log.columns) == LOG_COLUMNS and log["selected"].sum() == 1
    assert (log["pair"] == "vision_text").all()
    kept = log[log["selected"]].iloc[0]
    if select == "last":
        assert kept["epoch"] == 6
    else:
        candidates = log[log["epoch"].isin([2, 4, 6])]
        best = max(zip(candidates["valid_recall_at_5"], candidates["valid_recall_at_1"]))
        assert (kept["valid_recall_at_5"], kept["valid_recall_at_1"]) == best
    pair = pairs["vision_text"].eval()
    again = evaluate(pair, valid, "vision_text", settings.batch_size) | evaluate(
        pair, test, "vision_text", settings.batch_size, "test"
    )
    for key, value in again.items():
        assert value == pytest.approx(kept[key], rel=1e-5), key


def test_joint_objective_trains_both_pairs_on_one_text_side_with_clips_lacking_a_medium():
    """L_v2t + L_a2t in one model: each pair's loss falls although a quarter of the clips lack
    audio and another quarter frames; each pair's figures count only its own clips; the kept
    epoch is the best mean valid recall among the cycle ends."""
    g = torch.Generator().manual_seed(0)
    mixings = {
        "vision_text": torch.randn(12, 8, generator=g),
        "audio_text": torch.randn(10, 8, generator=g),
    }
    lacking = {"audio_text": range(12), "vision_text": range(12, 24)}
    train = _random_side(g, 48, mixings, "t", lacking)
    valid = _random_side(g, 24, mixings, "v", {"audio_text": range(4)})
    settings = Stage1Settings(
        epochs=6, batch_size=16, lr_max=3e-2, lr_min=1e-4, cycle_epochs=2, proj_dim=8
    )
    encoders = {
        "visual": _FrozenEncoder(12),
        "audio": _FrozenEncoder(10),
        "text": _FrozenEncoder(8),
    }
    pairs, log = train_stage1(
        train, valid, encoders, ["vision_text", "audio_text"], settings, torch.device("cpu")
    )
    assert sorted(pairs) == ["audio_text", "vision_text"]
    assert list(log.columns) == LOG_COLUMNS and len(log) == 12
    for name, frame in log.groupby("pair"):
        assert frame["epoch"].tolist() == list(range(1, 7))
        assert frame["train_loss"].iloc[-1] < frame["train_loss"].iloc[0], name
        assert (frame["n_train"] == 36).all() and (frame["n_left_out"] == 12).all()
    valid_chance = log.set_index("pair")["valid_chance_at_1"].groupby(level=0).first()
    assert valid_chance["audio_text"] == pytest.approx(1 / 20)  # 4 valid clips lack audio
    assert valid_chance["vision_text"] == pytest.approx(1 / 24)
    kept = log[log["selected"]]
    assert sorted(kept["pair"]) == ["audio_text", "vision_text"] and kept["epoch"].nunique() == 1
    scores = {
        epoch: selection_score(frame.to_dict("records"))
        for epoch, frame in log[log["epoch"].isin([2, 4, 6])].groupby("epoch")
    }
    assert scores[int(kept["epoch"].iloc[0])] == max(scores.values())


def test_settings_are_checked_and_the_workflow_keys_dropped():
    with pytest.raises(ValueError, match="select must be one of"):
        Stage1Settings(select="best")
    with pytest.raises(ConfigError, match="objective must be one of"):
        Stage1Settings(objective="both")
    settings = stage1_settings({"seeds": [0, 1], "features": "head", "objective": "pairs"})
    assert settings.objective == "pairs"
    with pytest.raises(ConfigError, match="unknown key"):
        stage1_settings({"feature": "head"})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage1")
    train = [f"{i:05d}" for i in range(24)]
    valid = [f"{i:05d}" for i in range(100, 112)]
    paths = {
        "train": write_shard(
            root,
            "train",
            0,
            train,
            missing_frames=("00002",),
            missing_audio=("00003", "00002"),
            empty_text=("00005",),
        ),
        "valid": write_shard(root, "valid", 0, valid),
    }
    paths["manifest"] = write_manifest(
        root / "manifest.tsv", {("train", 0): train, ("valid", 0): valid}
    )
    paths["models"] = tiny_models(tmp_path_factory.getbasetemp())
    paths["root"] = root
    return paths


SPLIT_STORES = {"vision_text": ("frames",), "audio_text": ("audio",), "joint": ("frames", "audio")}


def _train(data, target, settings, out, test=False):
    models = data["models"]
    objective = "joint" if target == "joint" else "pairs"
    argv = ["stage1", "--pair", target]
    splits = {"train": data["train"], "valid": data["valid"]}
    if test:  # the valid shard again, so test's figures must equal valid's
        splits["test"] = data["valid"]
    for split, shard in splits.items():
        for store in (*SPLIT_STORES[target], "transcripts"):
            argv += [f"--{split}-{store}", str(shard[store])]
    if "frames" in SPLIT_STORES[target]:
        argv += ["--vision-encoder", json.dumps({"model_name": str(models["clip"])})]
    if "audio" in SPLIT_STORES[target]:
        argv += ["--audio-encoder", json.dumps({"name": str(models["wav2vec2"])})]
    argv += [
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
                "objective": objective,
                "seeds": [0],
                "features": "encoder",
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
    assert main(argv) == 0
    return pd.read_csv(out / "log.tsv", sep="\t"), out / "checkpoint.pt"


def test_vision_text_cli_logs_epochs_and_counts_left_out_clips(data, tmp_path, capsys):
    log, ckpt = _train(data, "vision_text", {"epochs": 4, "cycle_epochs": 2}, tmp_path, test=True)
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
    assert list(stage.pairs) == ["vision_text"] and stage.head("visual").out_dim == 16
    assert sorted(stage.encoders) == ["text", "visual"]
    selected = torch.load(ckpt, weights_only=True)["selected_epoch"]
    assert selected in (2, 4) and log.loc[log["selected"], "epoch"].tolist() == [selected]

    out = tmp_path / "features"
    argv = features_argv(
        "stage1",
        "valid",
        data["manifest"],
        data["valid"],
        out,
        stage1={"visual": ckpt, "audio": ckpt, "text": ckpt},
    )
    capsys.readouterr()
    assert main(argv) == 1
    assert "without the audio encoder" in capsys.readouterr().err


def test_the_objective_and_the_pair_must_agree(data, tmp_path, capsys):
    with pytest.raises(AssertionError):
        _train(data, "vision_text", {"epochs": 1, "objective": "joint"}, tmp_path)
    assert "stage1.objective is 'joint' but --pair vision_text" in capsys.readouterr().err
    argv = [
        "stage1",
        "--pair",
        "joint",
        "--train-frames",
        str(data["train"]["frames"]),
        "--train-transcripts",
        str(data["train"]["transcripts"]),
        "--valid-transcripts",
        str(data["valid"]["transcripts"]),
        "--text-encoder",
        json.dumps({"name": MINILM}),
        "--checkpoint",
        str(tmp_path / "c.pt"),
        "--log",
        str(tmp_path / "l.tsv"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "missing --vision-encoder --audio-encoder --train-audio --valid-frames" in err


def test_joint_cli_trains_one_model_whose_checkpoint_gives_every_modality(data, tmp_path):
    """One job: both pairs, one text encoder, unfrozen last blocks; the checkpoint holds the three
    encoders' trained blocks and both pairs' heads; the stage1 feature set made from it stores
    the encoders' outputs at their own widths (and the heads' with stage1_features head)."""
    log, ckpt = _train(
        data, "joint", {"epochs": 2, "cycle_epochs": 1, "train_layers": 1}, tmp_path, test=True
    )
    assert list(log.columns) == LOG_COLUMNS and len(log) == 4
    rows = log.set_index(["epoch", "pair"])
    assert rows.loc[(1, "vision_text"), "n_train"] == 22  # 00002 lacks frames, 00005 text
    assert rows.loc[(1, "audio_text"), "n_train"] == 21  # 00002, 00003 lack audio, 00005 text
    assert log["selected"].sum() == 2 and log.loc[log["selected"], "epoch"].nunique() == 1
    assert np.isfinite(log["valid_loss"]).all() and np.isfinite(log["encoder_lr"]).all()

    saved = torch.load(ckpt, weights_only=True)
    assert saved["objective"] == "joint" and saved["pairs"] == ["vision_text", "audio_text"]
    assert sorted(saved["encoder_state"]) == ["audio", "text", "visual"]
    assert all(saved["encoder_state"][m] for m in ("audio", "text", "visual"))
    assert sorted(saved["pair_state"]) == ["audio_text", "vision_text"]
    stage = load_stage1(ckpt)
    assert stage.objective == "joint" and stage.text_pair == "vision_text"
    for modality, state in saved["encoder_state"].items():
        restored = dict(stage.encoders[modality].named_parameters())
        for name, value in state.items():
            torch.testing.assert_close(restored[name].detach(), value)
    fresh = dict(tiny_models_params(data))
    audio_state = saved["encoder_state"]["audio"]
    assert any(not torch.equal(fresh[k], v) for k, v in audio_state.items())  # it trained
    assert stage.head("audio") is stage.pairs["audio_text"].media_head

    frames = SequenceReader(data["valid"]["frames"])
    widths = {"v": stage.encoders["visual"].dim, "a": stage.encoders["audio"].dim, "t": 384}
    for output, dims in (("encoder", widths), ("head", {"v": 16, "a": 16, "t": 16})):
        out = tmp_path / output
        argv = features_argv(
            "stage1",
            "valid",
            data["manifest"],
            data["valid"],
            out,
            stage1={"visual": ckpt, "audio": ckpt, "text": ckpt},
            stage1_features=output,
        )
        assert main(argv) == 0
        for name in "vat":
            store = SequenceReader(out / name)
            attrs = store.store_attrs()
            assert attrs["featset"] == "stage1" and attrs["dim"] == dims[name], (output, name)
            clip = store.ids()[0]
            assert store[clip].dtype == np.float16 and store[clip].shape[1] == dims[name]
            if name != "t":
                assert len(store[clip]) == len(frames[clip])
            assert ("+" in attrs["encoder"]) == (output == "head")
    # the visual store holds the trained encoder's own outputs, not the untrained encoder's
    from emibench.encoders.registry import load_encoder

    visual = SequenceReader(tmp_path / "encoder" / "v")
    clip = visual.ids()[0]
    pixels = torch.from_numpy(np.asarray(frames[clip]))
    untrained = load_encoder("vision", {"model_name": str(data["models"]["clip"])})
    with torch.no_grad():
        direct = stage.encoders["visual"](pixels).numpy()
        before = untrained(pixels).numpy()
    np.testing.assert_allclose(visual[clip].astype(np.float32), direct, rtol=1e-2, atol=1e-2)
    assert np.abs(direct - before).max() > 1e-3


def tiny_models_params(data):
    from emibench.encoders.registry import load_audio

    return {
        k: v.detach() for k, v in load_audio(str(data["models"]["wav2vec2"])).named_parameters()
    }


def test_audio_text_with_an_unfrozen_block_saves_and_restores_it(data, tmp_path):
    log, ckpt = _train(data, "audio_text", {"epochs": 2, "train_layers": 1}, tmp_path)
    assert len(log) == 2 and np.isfinite(log["valid_loss"]).all()
    saved = torch.load(ckpt, weights_only=True)
    media_state, text_state = saved["encoder_state"]["audio"], saved["encoder_state"]["text"]
    assert media_state and all(k.startswith("model.encoder.") for k in media_state)
    assert text_state and all(".layer.5." in k for k in text_state)
    stage = load_stage1(ckpt)
    restored = dict(stage.encoders["audio"].named_parameters())
    for name, value in media_state.items():
        torch.testing.assert_close(restored[name].detach(), value)
    fresh = dict(tiny_models_params(data))
    assert any(not torch.equal(fresh[k], v) for k, v in media_state.items())  # the block did train


def test_heads_and_temperature_have_their_own_optimizer_groups(tmp_path):
    """New heads train at head_lr, the pretrained blocks at lr_max; the temperatures are never
    weight-decayed (as CLIP); SGDR anneals every group with the same shape."""
    from emibench.encoders.registry import load_encoder
    from emibench.stage1.schedule import SGDR
    from emibench.stage1.train import param_groups

    models = tiny_models(tmp_path)
    encoder = load_encoder("vision", {"model_name": str(models["clip"])})
    audio = load_encoder("audio", {"name": str(models["wav2vec2"])})
    text = load_encoder("text", {"name": MINILM})
    encoders = {"visual": encoder, "audio": audio, "text": text}
    settings = Stage1Settings(head_lr=1e-2, lr_max=1e-5, lr_min=1e-7, train_layers=1)
    pairs = torch.nn.ModuleDict(
        {
            "vision_text": ContrastivePair(encoder.dim, text.dim, proj_dim=8),
            "audio_text": ContrastivePair(audio.dim, text.dim, proj_dim=8),
        }
    )
    groups = param_groups(pairs, encoders, settings)
    heads, temperature, blocks = groups
    assert [id(p) for p in temperature["params"]] == [
        id(pair.logit_scale) for pair in pairs.values()
    ]
    assert temperature["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in heads["params"]) and len(heads["params"]) == 4
    assert heads["lr"] == 1e-2 and heads["weight_decay"] == settings.weight_decay
    trained = {id(p) for p in blocks["params"]}
    for modality, enc in encoders.items():  # one text encoder, its last block trained once
        tail = [p for m in enc.tail_modules(1) for p in m.parameters()]
        assert tail and all(id(p) in trained for p in tail), modality
    assert blocks["lr"] == 1e-5 and len(trained) == len(blocks["params"])
    optimizer = torch.optim.AdamW(groups)
    schedule = SGDR(optimizer, 4, settings.lr_max, settings.lr_min)
    for _ in range(2):
        schedule.step()
    ratios = [g["lr"] / g["peak_lr"] for g in optimizer.param_groups]
    assert ratios == pytest.approx([ratios[0]] * 3) and ratios[0] < 1
    frozen = Stage1Settings(head_lr=1e-2, train_layers=0)
    assert len(param_groups(pairs, encoders, frozen)) == 2


def test_stage1_heads_on_the_frozen_stores_match_the_heads_on_the_encoders(data, tmp_path):
    """Frozen encoders and linear heads (the demo's Stage I): the stage1 set projected from the
    frozen set's stores (no encoder runs) holds what the heads give on the encoders' outputs, up to
    the stores' float16, for every array of every entry, missing entries included."""
    models = data["models"]
    _, ckpt = _train(data, "joint", {"epochs": 2, "cycle_epochs": 1}, tmp_path)
    split = data["valid"]
    frozen = tmp_path / "frozen"
    encoders = {
        "visual": {"model_name": str(models["clip"])},
        "audio": {"name": str(models["wav2vec2"])},
        "text": {"name": MINILM, "max_length": 32},
    }
    assert (
        main(features_argv("frozen", "valid", data["manifest"], split, frozen, encoders=encoders))
        == 0
    )
    made = {}
    for how, project in (
        ("encoded", None),
        ("projected", {"visual": frozen / "v", "audio": frozen / "a", "text": frozen / "t"}),
    ):
        argv = features_argv(
            "stage1",
            "valid",
            data["manifest"],
            split,
            tmp_path / how,
            stage1={"visual": ckpt, "audio": ckpt, "text": ckpt},
            stage1_features="head",
            project=project,
        )
        assert main(argv) == 0
        made[how] = {name: SequenceReader(tmp_path / how / name) for name in "vat"}
    for name in "vat":
        encoded, projected = made["encoded"][name], made["projected"][name]
        assert encoded.store_attrs()["encoder"] == projected.store_attrs()["encoder"]
        assert encoded.ids() == projected.ids()
        for clip in encoded.ids():
            assert encoded.attrs(clip) == projected.attrs(clip)
            assert encoded.extras(clip) == projected.extras(clip)
            for array in ("data", *encoded.extras(clip)):
                a, b = (
                    (s[clip] if array == "data" else s.extra(clip, array)).astype(np.float32)
                    for s in (encoded, projected)
                )
                assert a.shape == b.shape
                np.testing.assert_allclose(b, a, rtol=2e-2, atol=2e-2 * np.abs(a).max(initial=1))
