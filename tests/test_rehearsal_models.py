"""make-rehearsal-models: tiny versions through the same writers, loaded by hub name offline.

The full-size build (5 GB) stays out of the tests; its architectures are checked here by counting
parameters on the meta device against the published sizes.
"""

import json

import huggingface_hub
import numpy as np
import open_clip
import pytest
import torch

from emibench.asr.settings import AsrSettings
from emibench.asr.transcribe import make_transcriber
from emibench.encoders import hub_cache, published
from emibench.encoders.registry import load_encoder
from emibench.encoders.rehearsal import (
    KEYS,
    MODELS,
    TINY,
    clip_config,
    make_rehearsal_models,
    read_manifest,
)


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory):
    """The tiny rehearsal cache as HF_HOME (the hub library reads its cache path at import)."""
    home = tmp_path_factory.mktemp("hf_home")
    make_rehearsal_models(home, overrides=TINY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HOME", str(home))
        patch.delenv("HF_HUB_CACHE", raising=False)
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(home / "hub"))
        yield home


def test_hub_layout_readme_and_manifest(hub_home):
    manifest = read_manifest(hub_home)
    assert sorted(e["key"] for e in manifest["models"].values()) == sorted(KEYS)
    for model in MODELS:
        entry = hub_cache.entry_dir(hub_home, model.repo_id)
        revision = (entry / "refs" / "main").read_text()
        assert revision == manifest["models"][model.repo_id]["revision"] and len(revision) == 40
        assert any((entry / "snapshots" / revision).iterdir())
    assert manifest["models"]["openai/whisper-large-v3-turbo"]["dtype"] == "float16"
    assert manifest["models"]["openai/whisper-large-v3"]["dtype"] == "float16"
    assert "RANDOM WEIGHTS" in (hub_home / "README.md").read_text()
    assert not (hub_home / ".partial").exists()


def test_second_run_skips_and_subset_and_seed_change_the_revision(tmp_path):
    tiny, bert = {"bert": TINY["bert"]}, "google-bert/bert-base-uncased"
    first = make_rehearsal_models(tmp_path, only=["bert"], overrides=tiny)
    weights = next(hub_cache.entry_dir(tmp_path, bert).rglob("*.safetensors"))
    mtime = weights.stat().st_mtime_ns
    again = make_rehearsal_models(tmp_path, only=["bert"], overrides=tiny)
    assert again == first and weights.stat().st_mtime_ns == mtime
    other = tmp_path / "other"
    same = make_rehearsal_models(other, only=["bert"], overrides=tiny)
    copy = next(hub_cache.entry_dir(other, bert).rglob("*.safetensors"))
    assert copy.read_bytes() == weights.read_bytes()  # deterministic for a seed
    assert same[bert]["revision"] == first[bert]["revision"]
    reseeded = make_rehearsal_models(tmp_path, only=["bert"], seed=1, overrides=tiny)
    assert reseeded[bert]["revision"] != first[bert]["revision"]
    with pytest.raises(ValueError, match="unknown rehearsal model"):
        make_rehearsal_models(tmp_path, only=["gpt"])


def test_never_overwrites_a_cache_entry_it_did_not_write(tmp_path):
    real = hub_cache.entry_dir(tmp_path, "google-bert/bert-base-uncased") / "snapshots" / "abc"
    real.mkdir(parents=True)
    with pytest.raises(FileExistsError, match="not written by make-rehearsal-models"):
        make_rehearsal_models(tmp_path, only=["bert"], overrides={"bert": TINY["bert"]})


def test_clip_loads_by_architecture_and_tag_as_open_clip_resolves_it(hub_home, monkeypatch):
    # open_clip builds "ViT-B-16" from its own config: shrink that to the tiny test size
    tiny_arch = {
        k: v for k, v in clip_config(TINY["clip"])["model_cfg"].items() if k != "quick_gelu"
    }
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, published.CLIP_ARCH, tiny_arch)
    vision = load_encoder("vision", {"model_name": "ViT-B-16", "pretrained": "openai"})
    frames = torch.randint(0, 256, (2, 40, 48, 3), dtype=torch.uint8)
    with torch.no_grad():
        features = vision(frames)
    assert features.shape == (2, 32) and torch.isfinite(features).all()
    direct = open_clip.create_model("ViT-B-16", pretrained="openai", force_quick_gelu=True)
    by_repo = open_clip.create_model("hf-hub:" + published.CLIP_REPO)
    for model in (direct, by_repo):
        torch.testing.assert_close(
            model.visual.conv1.weight, vision.visual.conv1.weight, rtol=0, atol=0
        )


def test_wav2vec2_large_loads_with_its_published_settings(hub_home):
    audio = load_encoder("audio", {"name": "facebook/wav2vec2-large-lv60", "layer": -1})
    config = audio.model.config
    assert (config.do_stable_layer_norm, config.feat_extract_norm, config.conv_bias) == (
        True,
        "layer",
        True,
    )
    assert audio.feature_extractor.return_attention_mask and audio.rate_hz == pytest.approx(50.0)
    with torch.no_grad():
        (out,) = audio([np.random.default_rng(0).normal(size=16000).astype(np.float32)])
    assert out.shape == (49, 32)


def test_bert_has_the_real_uncased_vocabulary(hub_home):
    text = load_encoder("text", {"name": "google-bert/bert-base-uncased", "max_length": 16})
    tokenizer = text.tokenizer
    assert len(tokenizer) == 30522
    assert tokenizer.tokenize("Unbelievable Mimicry!") == ["unbelievable", "mimic", "##ry", "!"]
    with torch.no_grad():
        hidden, _ = text(["hello there", "a longer sentence than that"])
    assert hidden.shape[0] == 2 and hidden.shape[2] == text.dim == 32


def test_whisper_real_tokenizer_and_transcriber_by_hub_name(hub_home):
    from whisper.tokenizer import get_tokenizer

    transcriber = make_transcriber(
        AsrSettings(
            backend="whisper", model="openai/whisper-large-v3-turbo", max_new_tokens=4, batch_size=2
        ),
        device="cpu",
    )
    pipe = transcriber.pipe
    reference = get_tokenizer(multilingual=True, num_languages=100)
    text = "Emotional mimicry, measured!"
    assert pipe.tokenizer.encode(text, add_special_tokens=False) == reference.encode(text)
    assert len(pipe.tokenizer) == 51866 and pipe.feature_extractor.feature_size == 128
    generation = pipe.model.generation_config
    assert len(generation.lang_to_id) == 100 and generation.no_timestamps_token_id == 50364
    assert generation.task_to_id == {"translate": 50359, "transcribe": 50360}
    rng = np.random.default_rng(0)
    results = transcriber.transcribe(
        [
            ("00000", rng.normal(0, 0.1, 16000 * 3).astype(np.float32)),
            ("00001", rng.normal(0, 0.1, 16000 * 35).astype(np.float32)),  # two 30 s chunks
        ]
    )
    assert [r.status for r in results] == ["ok", "ok"]
    assert all(r.language in transcriber.id_to_language.values() for r in results)


def test_taemis_whisper_large_v3_transcribes_its_first_segment_with_beam_5(hub_home):
    """preprocess.transcript_sets.taemi of config/vidmimic2.yaml, by hub name."""
    settings = AsrSettings(
        backend="whisper",
        model="openai/whisper-large-v3",
        num_beams=5,
        first_segment_only=True,
        max_new_tokens=8,
        batch_size=2,
    )
    transcriber = make_transcriber(settings, device="cpu")
    assert transcriber.pipe.model.config.decoder_layers == 3  # the test size of its 32
    assert transcriber.pipe.feature_extractor.feature_size == 128
    rng = np.random.default_rng(0)
    results = transcriber.transcribe([("00000", rng.normal(0, 0.1, 16000 * 3).astype(np.float32))])
    assert [r.status for r in results] == ["ok"]
    assert results[0].language in transcriber.id_to_language.values()


def test_taemi_models_load_with_plain_transformers_calls(hub_home):
    from safetensors.torch import load_file
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    repo = "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim"
    encoder = AutoModel.from_pretrained(repo)
    assert type(encoder).__name__ == "Wav2Vec2Model"
    assert encoder.config.architectures == ["Wav2Vec2ForSpeechClassification"]
    assert encoder.config.id2label == {0: "arousal", 1: "dominance", 2: "valence"}
    weights = load_file(huggingface_hub.try_to_load_from_cache(repo, "model.safetensors"))
    assert weights["classifier.dense.weight"].shape == (32, 32)
    assert weights["classifier.out_proj.weight"].shape == (3, 32)
    torch.testing.assert_close(
        weights["wav2vec2.feature_projection.projection.weight"],
        encoder.feature_projection.projection.weight,
    )
    distil = AutoModel.from_pretrained("distilbert-base-uncased")
    tokens = AutoTokenizer.from_pretrained("distilbert-base-uncased")("hello there")["input_ids"]
    assert type(distil).__name__ == "DistilBertModel" and tokens[0] == 101
    vit = AutoModel.from_pretrained("google/vit-base-patch16-224-in21k")
    processor = AutoImageProcessor.from_pretrained("google/vit-base-patch16-224-in21k")
    pixels = processor(images=np.zeros((50, 60, 3), np.uint8), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        pooled = vit(pixel_values=pixels).pooler_output
    assert pixels.shape == (1, 3, 224, 224) and pooled.shape == (1, 32)


@pytest.mark.parametrize(
    ("key", "millions"),
    [("wav2vec2", 317.4), ("bert", 110.1), ("whisper", 808.9), ("wav2vec2_emotion", 165.3)]
    + [("whisper_large_v3", 1543.5)]
    + [("distilbert", 67.0), ("vit", 86.4)],
)
def test_published_architectures_have_the_published_sizes(key, millions):
    """Built on the meta device (no memory, no weights): the parameter counts of the real repos."""
    import transformers

    model = next(m for m in MODELS if m.key == key)
    config = model.config()
    classes = {
        "wav2vec2": ("Wav2Vec2Config", "Wav2Vec2ForPreTraining"),
        "bert": ("BertConfig", "BertForPreTraining"),
        "whisper": ("WhisperConfig", "WhisperForConditionalGeneration"),
        "whisper_large_v3": ("WhisperConfig", "WhisperForConditionalGeneration"),
        "wav2vec2_emotion": ("Wav2Vec2Config", "Wav2Vec2Model"),
        "distilbert": ("DistilBertConfig", "DistilBertForMaskedLM"),
        "vit": ("ViTConfig", "ViTModel"),
    }[key]
    with torch.device("meta"):
        net = getattr(transformers, classes[1])(getattr(transformers, classes[0])(**config))
    count = sum(p.numel() for p in net.parameters()) / 1e6
    if key == "wav2vec2_emotion":
        count += (1024 * 1024 + 1024 + 1024 * 3 + 3) / 1e6  # the regression head
    assert count == pytest.approx(millions, abs=0.1)
    assert json.loads(json.dumps(config)) == config  # plain data, as written to config.json


def test_clip_architecture_is_vit_b_16_with_quick_gelu():
    config = clip_config()
    assert config["model_cfg"]["quick_gelu"] is True
    assert config["model_cfg"]["vision_cfg"] == {
        "image_size": 224,
        "layers": 12,
        "width": 768,
        "patch_size": 16,
    }
    with torch.device("meta"):
        model = open_clip.CLIP(**config["model_cfg"])
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(149.6, abs=0.1)
