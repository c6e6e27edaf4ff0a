"""A tiny random-initialised Whisper model with a working processor, made offline.

The demo config and the tests need a Whisper that loads through the same code path as
``openai/whisper-large-v3-turbo`` (``pipeline("automatic-speech-recognition", model=<dir>)``)
without any download. This module builds one from scratch:

- a byte-level BPE tokenizer trained with the ``tokenizers`` library on a few sentences, with
  Whisper's special and timestamp tokens in Whisper's order
  (:func:`emibench.asr.whisper_tokenizer.whisper_tokenizer`), so language detection and timestamp
  logic work unchanged;
- the standard ``WhisperFeatureExtractor`` (80 log-mel bins, 30 s windows of 16 kHz audio);
- a ``WhisperForConditionalGeneration`` with d_model 64 and two layers each side, weights from a
  seeded random initialisation, and a generation config with ``lang_to_id``/``task_to_id``.

Its transcripts are gibberish (the weights are random); what it proves is that loading, batching,
chunking, language detection and confidence all run.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from emibench.asr.whisper_tokenizer import special_tokens, whisper_tokenizer

log = logging.getLogger(__name__)

TRAINING_TEXT = [
    "the quick brown fox jumps over the lazy dog",
    "i am so happy to see you again today",
    "that was amazing, well done everyone",
    "we will keep going until we get there",
    "i feel really sorry for what happened to them",
    "this is the best day of my life",
    "emotional mimicry intensity estimation from video audio and text",
]
VOCAB_SIZE = 400  # 256 byte symbols plus merges
SEED = 0


def _train_bpe(workdir: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE vocabulary and merges learned from TRAINING_TEXT."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(
        TRAINING_TEXT * 4, vocab_size=VOCAB_SIZE, min_frequency=1, show_progress=False
    )
    bpe.save_model(str(workdir))
    vocab = json.loads((workdir / "vocab.json").read_text())
    merges = [
        tuple(line.split(" "))
        for line in (workdir / "merges.txt").read_text().splitlines()
        if line and not line.startswith("#version")
    ]
    return vocab, merges


def build_tokenizer():
    """A ``WhisperTokenizer`` with a tiny BPE vocabulary and Whisper's special and timestamp tokens."""
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = _train_bpe(Path(tmp))
    return whisper_tokenizer(vocab, merges)


def make_tiny_whisper(out_dir: str | Path, seed: int = SEED) -> Path:
    """Write a tiny random-initialised Whisper model and its processor to ``out_dir``.

    The folder loads with ``pipeline("automatic-speech-recognition", model=out_dir)`` and with
    ``WhisperForConditionalGeneration.from_pretrained``. Returns ``out_dir``.
    """
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    out_dir = Path(out_dir)
    tokenizer = build_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in special_tokens()}
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    space = tokenizer.convert_tokens_to_ids("Ġ")
    # Random weights favour no token in particular; suppressing every special and timestamp token
    # (end-of-text aside) while generating makes the tiny model write text tokens: gibberish, but a
    # non-empty string. Language detection scores the language tokens itself, unaffected.
    special_ids = [i for t, i in ids.items() if t != "<|endoftext|>"]
    timestamp_ids = list(range(ids["<|notimestamps|>"] + 1, len(tokenizer)))

    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,  # 30 s of 10 ms mel frames after the stride-2 conv
        max_target_positions=128,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        begin_suppress_tokens=[space, eot],
        suppress_tokens=[],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=config.max_target_positions,
        begin_suppress_tokens=[space, eot],
        suppress_tokens=special_ids + timestamp_ids,
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": ids[f"<|{code}|>"] for code in LANGUAGES},
        task_to_id={"translate": ids["<|translate|>"], "transcribe": ids["<|transcribe|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"],
        prev_sot_token_id=ids["<|startofprev|>"],
        max_initial_timestamp_index=50,
        alignment_heads=[[1, 0], [1, 1]],
    )
    processor = WhisperProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(
        "tiny whisper: %d parameters, vocabulary %d, saved to %s", n_params, len(tokenizer), out_dir
    )
    return out_dir
