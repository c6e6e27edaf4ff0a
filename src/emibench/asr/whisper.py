"""Whisper backend: the transformers ``automatic-speech-recognition`` pipeline, batched and chunked.

- Model: a hub name or a local folder, resolved with :func:`emibench.model_source.resolve_model_source`
  (a hub name must already be in the local cache; nothing is downloaded).
- Long-form: clips longer than ``chunk_length_s`` are cut by the pipeline into overlapping chunks
  (stride ``chunk_length_s / 6`` each side), transcribed in batches of ``batch_size`` chunks and
  merged by the pipeline's longest-common-sequence stitching.
- Language: the configured language code is forced when set (``en``); otherwise Whisper detects it
  per chunk and the clip's language is the most frequent detected code.
- First segment only (``first_segment_only``, as TAEMI's authors transcribe: faster-whisper's
  first segment): Whisper reads the clip's first window (``chunk_length_s``) and decodes it once
  with timestamps, which cut its output into segments; the clip's text is the first segment (the
  pipeline's first ``chunks`` entry) and the confidence is that segment's. One ``generate`` call
  a window (``force_unique_generate_call``): Whisper's seek loop would otherwise encode the window
  again after a decoding that ends inside a segment, and decode the clip's later windows, for
  segments that are not kept.
- Confidence: ``exp(mean log-probability of the generated tokens)`` (the geometric mean of the token
  probabilities, end-of-text included, prompt tokens excluded), over every chunk of the clip, from
  the per-step scores that ``generate`` returns (see :func:`token_logprobs`); with
  ``first_segment_only``, over the first segment's tokens (its timestamps included, see
  :func:`first_segment_ends`). In [0, 1].
- Device and precision: ``--device`` (``auto`` picks CUDA when present); on CUDA the weights are
  float16 (``precision: auto`` or ``fp16``) or bfloat16 (``bf16``); on the CPU float32.

The pipeline subclass below only adds the scores and the language token to what the stock
pipeline already computes; text decoding and chunk stitching are the pipeline's own.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
from transformers import AutomaticSpeechRecognitionPipeline, pipeline

from emibench.asr.base import SAMPLE_RATE, Transcriber, Transcript
from emibench.devices import resolve_device
from emibench.model_source import resolve_model_source

log = logging.getLogger(__name__)

PRECISIONS = {
    "auto": torch.float16,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
    "fp32": torch.float32,
}


def token_logprobs(
    generated, eos_token_id: int, timestamp_begin: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of log-probabilities and number of generated tokens per sequence, both (B,).

    ``generated`` is a Whisper ``generate`` output with ``sequences`` (B, prompt + T) and
    ``scores`` (T steps of (B, V)); Whisper hands back the chosen beam's scores under beam search.
    A step's scores are log-softmaxed (greedy scores are logits; beam scores are log-probabilities
    already, for which this is the identity up to suppressed tokens). Tokens after the first
    end-of-text are padding and do not count; where ``timestamp_begin`` is given (a timestamped
    decoding), neither do the tokens after the first segment (:func:`first_segment_ends`).
    """
    scores = generated["scores"]
    tokens = generated["sequences"][:, -len(scores) :]
    steps = torch.stack(
        [
            torch.log_softmax(step.float(), dim=-1)
            .gather(1, tokens[:, t : t + 1].to(step.device))[:, 0]
            .cpu()
            for t, step in enumerate(scores)
        ],
        dim=1,
    )
    tokens = tokens.cpu()
    is_eos = (tokens == eos_token_id).long()
    valid = ((torch.cumsum(is_eos, dim=1) - is_eos) == 0) & torch.isfinite(steps)
    if timestamp_begin is not None:
        ends = first_segment_ends(tokens, timestamp_begin, eos_token_id)
        valid &= torch.arange(tokens.shape[1])[None, :] < ends[:, None]
    return torch.where(valid, steps, 0.0).sum(dim=1), valid.sum(dim=1)


def first_segment_ends(
    tokens: torch.Tensor, timestamp_begin: int, eos_token_id: int
) -> torch.Tensor:
    """Per sequence of generated tokens (B, T), where its first timestamped segment ends (B,).

    Whisper's own rule (transformers' ``_retrieve_segment``): end-of-text and what follows are cut;
    a segment ends between two timestamp tokens that follow each other, and a decoding without such
    a pair is one segment. Unless the decoding ends on a single timestamp (text, then a timestamp),
    the last pair's second timestamp stays in the segment before it.
    """
    ends = []
    for row in tokens.cpu():
        eos = (row == eos_token_id).nonzero()
        row = row[: int(eos[0])] if len(eos) else row
        stamps = row >= timestamp_begin
        slices = ((stamps[:-1] & stamps[1:]).nonzero()[:, 0] + 1).tolist()
        single_ending = len(row) >= 2 and not stamps[-2] and bool(stamps[-1])
        if slices and not single_ending:
            slices[-1] += 1
        ends.append(slices[0] if slices else len(row))
    return torch.tensor(ends)


class ScoredWhisperPipeline(AutomaticSpeechRecognitionPipeline):
    """The stock ASR pipeline that also returns, per chunk, ``logprob_sum``, ``n_tokens`` and
    ``language_id`` (the language token in the decoder prompt, -1 when none); with
    ``return_timestamps=True``, those of the chunk's first segment.

    Call it with ``generate_kwargs`` holding ``return_dict_in_generate=True, output_scores=True``.
    """

    def _forward(self, model_inputs, **forward_params):
        captured = {}
        generate = self.model.generate

        def generate_and_keep(*args, **kwargs):
            captured["out"] = generate(*args, **kwargs)
            return captured["out"]

        self.model.generate = generate_and_keep
        try:
            out = super()._forward(model_inputs, **forward_params)
        finally:
            del self.model.generate
        generated = captured.get("out")
        config = self.model.generation_config
        lang_ids = torch.tensor(
            sorted((getattr(config, "lang_to_id", None) or {}).values()) or [-1]
        )
        if isinstance(generated, dict) and generated.get("scores") is not None:
            timestamped = forward_params.get("return_timestamps")
            out["logprob_sum"], out["n_tokens"] = token_logprobs(
                generated,
                config.eos_token_id,
                config.no_timestamps_token_id + 1 if timestamped else None,
            )
            head = generated["sequences"][:, :4].cpu()
            is_lang = torch.isin(head, lang_ids)
            out["language_id"] = torch.where(
                is_lang.any(dim=1), head.gather(1, is_lang.long().argmax(1, keepdim=True))[:, 0], -1
            )
        return out


class WhisperTranscriber(Transcriber):
    """Whisper through :class:`ScoredWhisperPipeline` (see the module doc)."""

    name = "whisper"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 8,
        chunk_length_s: float = 30.0,
        language: str = "",
        num_beams: int = 1,
        max_new_tokens: int = 128,
        first_segment_only: bool = False,
    ):
        if precision not in PRECISIONS:
            raise ValueError(
                f"whisper precision must be one of {sorted(PRECISIONS)}, got {precision!r}"
            )
        source = resolve_model_source(model, "Whisper ASR model", "preprocess.asr.model")
        self.device = resolve_device(device)
        dtype = PRECISIONS[precision] if self.device.type == "cuda" else torch.float32
        self.pipe = pipeline(
            "automatic-speech-recognition",
            model=source,
            device=self.device,
            dtype=dtype,
            pipeline_class=ScoredWhisperPipeline,
        )
        config = self.pipe.model.generation_config
        self.id_to_language = {
            i: tok.strip("<|>") for tok, i in (getattr(config, "lang_to_id", None) or {}).items()
        }
        self.batch_size = batch_size
        self.chunk_length_s = chunk_length_s
        self.language = language
        self.first_segment_only = first_segment_only
        self.generate_kwargs = {
            "num_beams": num_beams,
            "max_new_tokens": max_new_tokens,
            "return_dict_in_generate": True,
            "output_scores": True,
        }
        if first_segment_only:
            self.generate_kwargs["force_unique_generate_call"] = True
        if getattr(config, "is_multilingual", False):
            self.generate_kwargs["task"] = "transcribe"
            if language:
                self.generate_kwargs["language"] = language
        self._describe = (
            f"whisper {source} on {self.device} ({str(dtype).removeprefix('torch.')}), batch {batch_size}, "
            f"chunks {chunk_length_s} s, beams {num_beams}, language {language or 'detected'}"
            + (", first segment only" if first_segment_only else "")
        )
        log.info("%s", self._describe)

    def describe(self) -> str:
        return self._describe

    def transcribe(self, batch: Sequence[tuple[str, np.ndarray]]) -> list[Transcript]:
        window = round(self.chunk_length_s * SAMPLE_RATE) if self.first_segment_only else None
        inputs = [
            {"raw": np.asarray(samples[:window], np.float32), "sampling_rate": SAMPLE_RATE}
            for _, samples in batch
        ]
        outputs = self.pipe(
            inputs,
            batch_size=self.batch_size,
            chunk_length_s=0 if self.first_segment_only else self.chunk_length_s,
            ignore_warning=True,
            return_timestamps=self.first_segment_only,
            generate_kwargs=dict(self.generate_kwargs),
        )
        return [
            self._result(clip_id, out) for (clip_id, _), out in zip(batch, outputs, strict=True)
        ]

    def _result(self, clip_id: str, out: dict) -> Transcript:
        text, windows = out["text"], len(out.get("logprob_sum", []))
        if self.first_segment_only:
            chunks = out.get("chunks") or [{"text": ""}]
            text, windows = chunks[0]["text"], 1
        logprob = float(sum(float(x.sum()) for x in out.get("logprob_sum", [])[:windows]))
        n_tokens = int(sum(int(x.sum()) for x in out.get("n_tokens", [])[:windows]))
        confidence = float(np.exp(logprob / n_tokens)) if n_tokens else float("nan")
        detected = [
            self.id_to_language.get(int(x.reshape(-1)[0]), "") for x in out.get("language_id", [])
        ]
        detected = [code for code in detected if code]
        language = self.language or (Counter(detected).most_common(1)[0][0] if detected else "")
        return Transcript(clip_id, text.strip(), language, confidence, self.name, "ok", "")
