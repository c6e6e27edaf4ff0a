"""TAEMI end to end: the audio and text encoders inside the model, trained on raw audio and
token ids that the run's stores carry (store keys ``wave`` and ``text``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emibench.cli import main
from emibench.data.store import SequenceReader
from emibench.data.tables import write_table
from emibench.emotions import EMOTIONS
from emibench.encoders.registry import load_tokenizer
from emibench.evaluate.run_files import read_predictions
from emibench.models.inputs import RawInputs, Tokens, Waves, input_keys
from emibench.models.registry import build_model, raw_inputs, raw_modalities
from emibench.train.data import load_run_data
from emibench.train.trainer import RunSpec, TrainConfig, fit, lr_factor, predict, train_run
from features_fakes import SR, WORDS, clip_class, features_argv, tiny_models, write_shard

SPLITS = {"train": 32, "valid": 16, "test": 8}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tiny_models(tmp_path_factory.getbasetemp())


def model_config(models, **options) -> dict:
    return {
        "name": "taemi",
        "hidden": 16,
        "heads": 2,
        "head_hidden": 16,
        "audio_encoder": {"name": str(models["wav2vec2_emotion"]), "layer": -1},
        "text_encoder": {"name": str(models["bert"]), "max_length": 16},
        "max_audio_s": 2.0,
        **options,
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory, models):
    """Each split's frames, audio and transcripts (a class per clip shapes all three and the
    labels), its 'taemi' visual store made by `emibench features`, and a labelled manifest."""
    root = tmp_path_factory.mktemp("e2e")
    rows, stores = [], {"V": [], "wave": [], "text": []}
    start = 0
    for split, n in SPLITS.items():
        ids = [f"{i:05d}" for i in range(start, start + n)]
        start += n
        paths = write_shard(
            root,
            split,
            0,
            ids,
            missing_audio=(ids[1],),
            empty_text=(ids[2],),
            missing_frames=(ids[3],),
        )
        for k, clip_id in enumerate(ids):
            labels = np.full(6, 0.1)
            labels[clip_class(clip_id)] = 0.9
            rows.append(
                {"id": clip_id, "split": split, "shard": 0, "status": "ok", "reason": "",
                 "duration_s": 1.0 + 0.4 * (k % 4), "fps": 25.0}
                | {e: (np.nan if split == "test" else labels[j]) for j, e in enumerate(EMOTIONS)}
            )  # fmt: skip
        stores["wave"].append(str(paths["audio"]))
        stores["text"].append(str(paths["transcripts"]))
        stores["V"].append(str(root / "features" / "taemi" / split / "v"))
        manifest = root / "manifest.tsv"
        write_table(pd.DataFrame(rows), manifest)
        argv = features_argv(
            "taemi", split, manifest, paths, root / "features" / "taemi" / split, ["visual"],
            encoders={"visual": {"model_name": str(models["vit"])}},
        )  # fmt: skip
        assert main(argv) == 0
    return {"manifest": root / "manifest.tsv", "stores": stores, "root": root}


def _load(data, config, max_audio_s=2.0):
    raw = raw_inputs(config, "VAT")
    assert raw == RawInputs(config["text_encoder"]["name"], 16, SR, max_audio_s)
    return load_run_data(data["manifest"], data["stores"], None, 0, False, "visual", raw)


def test_taemi_set_writes_the_visual_store_only(data, models, capsys):
    with SequenceReader(data["stores"]["V"]) as reader:
        assert reader.store_attrs()["featset"] == "taemi" and reader.store_attrs()["dim"] == 32
        assert reader.is_missing("00003") and reader["00000"].shape[1] == 32
    frames = {"frames": data["root"] / "frames/train/00.h5", "audio": "", "transcripts": ""}
    argv = features_argv(
        "taemi", "train", data["manifest"], frames, data["root"] / "refused", ["visual", "audio"],
        encoders={"visual": {"model_name": str(models["vit"])}},
    )  # fmt: skip
    assert main(argv) == 1
    assert "the taemi set is made of the visual store(s)" in capsys.readouterr().err


def test_store_keys_follow_the_model(models):
    config = model_config(models)
    assert raw_modalities(config, "VAT") == ("A", "T")
    assert input_keys("VAT", raw_modalities(config, "VAT")) == ["V", "wave", "text"]
    assert raw_modalities({**config, "text_encoder": None}, "VT") == ()
    assert input_keys("VA", raw_modalities(config, "VA")) == ["V", "wave"]


def test_batches_carry_waves_and_token_ids(data, models):
    run = _load(data, model_config(models))
    assert run.dims == {"V": 32} and sorted(run.raw) == ["A", "T"]
    assert run.n_missing("train") == {"V": 1, "A": 1, "T": 1}
    batch = run.batch("train", ["00000", "00001", "00002"])
    assert isinstance(batch.wave, Waves) and isinstance(batch.tokens, Tokens)
    assert batch.wave.lengths.tolist() == [SR * 1, 0, int(SR * 1.8)]  # 1.0, absent, 1.8 s
    assert batch.wave.present.tolist() == [True, False, True]
    assert batch.tokens.present.tolist() == [True, True, False]
    assert batch.tokens.mask[2].sum() == 2  # the empty transcript: [CLS] [SEP]
    tokenizer = load_tokenizer(str(models["bert"]))
    first = tokenizer.decode(batch.tokens.ids[0][batch.tokens.mask[0]], skip_special_tokens=True)
    assert first == f"{WORDS[clip_class('00000')]} number 0"
    long = run.raw["A"].waves["00003"]  # 2.2 s clip cut to max_audio_s
    assert len(long) == 2 * SR and long.dtype == np.float16


def test_model_builds_from_config_and_encoders_train_with_it(data, models):
    torch.manual_seed(0)
    run = _load(data, model_config(models))
    model = build_model(model_config(models), run.dims, "VAT")
    assert sorted(model.encoders) == ["A", "T"]
    assert model.widths == {"V": 32, "A": 16 + 3, "T": 32}  # hidden + the 3 regression outputs
    assert model.head[0].in_features == 32 + 2 * 16
    batch = run.batch("train", run.ids["train"][:6])
    model.train()
    pred = model(batch)["pred"]
    assert pred.shape == (6, 6) and torch.isfinite(pred).all()
    torch.nn.functional.mse_loss(pred, batch.labels).backward()
    for m in ("A", "T"):
        grads = [p.grad for p in model.encoders[m].parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), m


def test_padding_mask_follows_the_true_audio_length(data, models):
    torch.manual_seed(0)
    config = model_config(models)
    run = _load(data, config)
    model = build_model(config, run.dims, "VAT").eval()
    ids = ["00000", "00004", "00003"]  # 1.0 s, 1.0 s, 2.0 s (cut) of audio
    batch = run.batch("train", ids)
    encoder = model.encoders["A"]
    with torch.no_grad():
        x, mask = model.frame_sequence(batch, "A")
        assert mask.sum(1).tolist() == [encoder.n_frames(n) for n in batch.wave.lengths.tolist()]
        assert mask.sum(1).tolist() == [49, 49, 99] and x.shape[1] == 99
        together = model(batch)["pred"]
        for k, clip_id in enumerate(ids):
            alone = model(run.batch("train", [clip_id]))["pred"][0]
            torch.testing.assert_close(alone, together[k], atol=1e-4, rtol=1e-4)


def test_only_clips_with_audio_go_through_the_audio_encoder(data, models, monkeypatch):
    """A batch where clips lack audio encodes the others alone (the token takes the absent
    clips' place), with the frames and masks of those clips encoded without them."""
    torch.manual_seed(0)
    config = model_config(models)
    run = _load(data, config)
    model = build_model(config, run.dims, "VAT").eval()
    encoder = model.encoders["A"]
    seen = []
    encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda w, n: seen.append(tuple(w.shape)) or encode(w, n))
    ids = ["00000", "00001", "00003"]  # 1.0 s, no audio, 2.0 s (cut)
    with torch.no_grad():
        x, mask = model.frame_sequence(run.batch("train", ids), "A")
        alone_x, alone_mask = model.frame_sequence(run.batch("train", ["00000", "00003"]), "A")
        everything_absent = model.frame_sequence(run.batch("train", ["00001"]), "A")[0]
    assert seen == [(2, 2 * SR), (2, 2 * SR)]  # the absent clip never reached the encoder
    torch.testing.assert_close(x[[0, 2]], alone_x)
    assert torch.equal(mask[[0, 2]], alone_mask)
    assert torch.equal(x[1, 0], model.missing["A"]) and mask[1].tolist() == [True] + [False] * 98
    assert torch.equal(everything_absent[0, 0], model.missing["A"]) and len(seen) == 2
    # gradients reach the encoder through the clips it encoded
    model.train()
    torch.nn.functional.mse_loss(
        model(run.batch("train", ids))["pred"], torch.zeros(3, 6)
    ).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())


def test_missing_tokens_and_dropout_replace_encoder_outputs(data, models):
    torch.manual_seed(0)
    run = _load(data, model_config(models))
    model = build_model(model_config(models, modality_dropout=1.0), run.dims, "VAT")
    assert {m: t.shape[0] for m, t in model.missing.items()} == model.widths
    batch = run.batch("train", ["00000", "00001", "00002"])
    model.eval()
    with torch.no_grad():
        t = model.text_vector(batch)
        assert torch.equal(t[2], model.missing["T"])  # empty transcript
        assert not torch.equal(t[0], model.missing["T"])
        x, mask = model.frame_sequence(batch, "A")
        assert torch.equal(x[1, 0], model.missing["A"]) and mask[1].sum() == 1  # no audio
        model.train()
        torch.manual_seed(1)
        dropped = model.frame_sequence(batch, "A")[0]
    assert all(torch.equal(dropped[b, 0], model.missing["A"]) for b in range(3))


def _encoder_state(model):
    return {k: v.detach().clone() for k, v in model.encoders.state_dict().items()}


@pytest.mark.parametrize("encoder_lr", [1e-3, 0.0])
def test_encoder_weights_change_only_when_fine_tuned(data, models, encoder_lr):
    torch.manual_seed(0)
    run = _load(data, model_config(models))
    model = build_model(model_config(models), run.dims, "VAT")
    before = _encoder_state(model)
    head_before = model.head[0].weight.detach().clone()
    cfg = TrainConfig(
        epochs=1, batch_size=8, lr=1e-3, encoder_lr=encoder_lr, max_train_batches=1, ema_decay=0
    )
    fit(model, run, cfg, seed=0, device=torch.device("cpu"))
    after = _encoder_state(model)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    if encoder_lr:
        assert any(k.startswith("A.") for k in changed) and any(k.startswith("T.") for k in changed)
    else:
        assert changed == []
        assert all(not p.requires_grad for p in model.encoders.parameters())
    assert not torch.equal(head_before, model.head[0].weight)


def test_warm_up_then_schedule():
    assert [lr_factor(s, 10, 4, "none", 0.0) for s in (0, 1, 3, 4, 9)] == [0.25, 0.5, 1, 1, 1]
    cosine = [lr_factor(s, 10, 2, "cosine", 0.0) for s in (0, 1, 2, 6, 10)]
    assert cosine[:3] == [0.5, 1.0, 1.0] and cosine[3] == pytest.approx(0.5) and cosine[4] == 0


def test_end_to_end_training_smoke_and_saved_run_predicts_again(data, models, tmp_path):
    """A short CPU run: the loss falls, every clip is predicted, and model.pt rebuilds the model
    and its inputs (``data`` options) so that predicting again gives the same numbers."""
    config = {
        "features": "taemi",
        "modalities": "VAT",
        "model": model_config(models, modality_dropout=0.0, dropout=0.0, attn_dropout=0.0),
        "train": {"epochs": 6, "batch_size": 8, "lr": 3e-3, "encoder_lr": 1e-3, "warmup_epochs": 1,
                  "patience": 6, "ema_decay": 0.0, "standardize": False, "precision": "auto"},
    }  # fmt: skip
    spec = RunSpec.from_config("taemi", "VAT_taemi", 0, config)
    run = _load(data, spec.model)
    metrics = train_run(spec, run, tmp_path, torch.device("cpu")).to_dict()
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert log["train_loss"].iloc[-1] < 0.8 * log["train_loss"].iloc[0]
    assert metrics["n_encoder_params"] > 0 and metrics["splits"]["valid"]["n_missing"]["A"] == 1
    for split, n in SPLITS.items():
        assert len(read_predictions(tmp_path / f"predictions_{split}.csv")) == n

    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert saved["data"]["raw_inputs"]["tokenizer"] == str(models["bert"])
    again = load_run_data(data["manifest"], data["stores"], None, **saved["data"])
    model = build_model(saved["model_config"], saved["dims"], saved["modalities"])
    model.load_state_dict(saved["state_dict"])
    preds, _ = predict(model, again, "valid", 16, torch.device("cpu"))
    written = read_predictions(tmp_path / "predictions_valid.csv").loc[again.ids["valid"]]
    np.testing.assert_allclose(preds, written.to_numpy(), atol=1e-5)  # raw, unclipped


HUB_SCRIPT = """
import json, sys, torch
from emibench.encoders.registry import load_tokenizer, load_vision
from emibench.models.inputs import Batch, Sequence, Tokens, Waves
from emibench.models.registry import build_model, raw_inputs
config = json.loads(sys.argv[1])
raw = raw_inputs(config, "VAT")
vision = load_vision("google/vit-base-patch16-224-in21k")
frames = torch.randint(0, 255, (5, 32, 32, 3), dtype=torch.uint8)
feats = vision(frames)
model = build_model(config, {"V": vision.dim}, "VAT")
tok = load_tokenizer(raw.tokenizer)(["so much joy", ""], return_tensors="pt", padding=True)
batch = Batch(
    ids=["0", "1"],
    visual=Sequence(feats.detach().view(1, 5, -1).repeat(2, 1, 1), torch.ones(2, 5, dtype=torch.bool),
                    torch.ones(2, dtype=torch.bool)),
    wave=Waves(torch.randn(2, raw.sample_rate), torch.tensor([raw.sample_rate, 8000]),
               torch.ones(2, dtype=torch.bool)),
    tokens=Tokens(tok["input_ids"], tok["attention_mask"].bool(), torch.tensor([True, False])),
    labels=torch.rand(2, 6),
)
model.train()
loss = torch.nn.functional.mse_loss(model(batch)["pred"], batch.labels)
loss.backward()
print(json.dumps({"loss": loss.item(), "widths": model.widths, "rate": raw.sample_rate,
                  "vision": type(vision).__name__}))
"""


def test_published_names_load_from_a_hub_cache(models, tmp_path):
    """The authors' hub names, from a Hugging Face cache laid out as huggingface_hub does
    (``hub/models--ORG--NAME/snapshots/<rev>`` + ``refs/main``), offline."""
    import shutil

    names = {
        "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim": models["wav2vec2_emotion"],
        "distilbert-base-uncased": models["distilbert"],
        "google/vit-base-patch16-224-in21k": models["vit"],
    }
    for repo, folder in names.items():
        entry = tmp_path / "hf" / "hub" / ("models--" + repo.replace("/", "--"))
        shutil.copytree(folder, entry / "snapshots" / "0123abcd")
        (entry / "refs").mkdir()
        (entry / "refs" / "main").write_text("0123abcd")
    config = {
        "name": "taemi", "hidden": 16, "heads": 2, "head_hidden": 16,
        "audio_encoder": {"name": "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim"},
        "text_encoder": {"name": "distilbert-base-uncased", "max_length": 128},
    }  # fmt: skip
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
    }
    done = subprocess.run(
        [sys.executable, "-c", HUB_SCRIPT, json.dumps(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["widths"] == {"V": 32, "A": 19, "T": 32} and out["rate"] == SR
    assert out["vision"] == "ViTEncoder" and np.isfinite(out["loss"])


def test_gradient_checkpointing_gives_the_same_gradients(data, models):
    from emibench.train.trainer import enable_gradient_checkpointing

    run = _load(data, model_config(models))
    batch = run.batch("train", run.ids["train"][:4])
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = build_model(model_config(models), run.dims, "VAT").train()
        if checkpointing:
            assert enable_gradient_checkpointing(model) == 2  # the Wav2Vec2 and the text encoder
        torch.manual_seed(1)
        np.random.seed(1)  # SpecAugment's masks
        torch.nn.functional.mse_loss(model(batch)["pred"], batch.labels).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-5, rtol=1e-4, msg=name)
