"""The modality vocabulary every layer shares (torch-free, so the workflow's plan can import it).

Modalities are named by one letter, as in the variants: ``V`` (visual), ``A`` (audio), ``T``
(text). A run reads each modality from a store named by a key: ``V``, ``A``, ``T`` for the
feature stores, or, for a modality its model encodes itself end to end (TAEMI's audio and text),
the raw key of ``RAW_KEYS`` (``wave``: the audio stores, ``text``: the transcripts). A model
encodes a modality itself when its config names that modality's encoder under the option of
``ENCODER_OPTIONS``.
"""

from __future__ import annotations

MODALITIES: tuple[str, ...] = ("V", "A", "T")
MODALITY_NAMES: dict[str, str] = {"V": "visual", "A": "audio", "T": "text"}
# store keys of the raw inputs of a modality a model encodes itself
RAW_KEYS: dict[str, str] = {"A": "wave", "T": "text"}
# model options naming the encoder (a key of config section encoders) of such a modality
ENCODER_OPTIONS: dict[str, str] = {"A": "audio_encoder", "T": "text_encoder"}
STORE_KEYS: tuple[str, ...] = (*MODALITIES, *RAW_KEYS.values())


def parse_modalities(value: str) -> tuple[str, ...]:
    """``"VAT"`` -> ``("V", "A", "T")``; any non-empty subset of V, A, T, in that order."""
    letters = tuple(m for m in MODALITIES if m in value)
    if not value or len(letters) != len(value) or len(set(value)) != len(value):
        raise ValueError(f"modalities {value!r}: expected a non-empty subset of 'VAT', e.g. 'VA'")
    return letters


def input_keys(modalities: str, raw: tuple[str, ...] = ()) -> list[str]:
    """The store keys a run reads: each modality's feature key, or its raw key when in ``raw``."""
    return [RAW_KEYS[m] if m in raw else m for m in parse_modalities(modalities)]


def encoded_modalities(model: dict, modalities: str) -> tuple[str, ...]:
    """The modalities of ``modalities`` that a model config encodes itself: those whose encoder
    option (``ENCODER_OPTIONS``) it sets."""
    return tuple(m for m in parse_modalities(modalities) if model.get(ENCODER_OPTIONS.get(m, "")))
