"""The published numbers the tables stand beside: every one in this file, with its source.

Config rows of ``report.tables`` name these by id (``paper: [dscmn_v1_t2_vit_ours]``); an unknown
id is an error. All scores are mean Pearson over the six emotions on a validation split: the
official one, except where the source says otherwise (the late-fusion write-up re-split train and
valid 4:1). The peers' numbers are from their write-ups of the ABAW EMI track (docs/peers.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperNumber:
    value: float
    short: str  # tag shown next to the value where one row has several (``v1``, ``v3``)
    source: str


_V1 = "Dual-Stage Cross-Modal Network, arXiv v1"
_V3 = "Dual-Stage Cross-Modal Network, arXiv v3 abstract"
_CONCAT = (
    "Huang et al., Multimodal Emotion Regression with Multi-Objective Optimization and VAD-Aware "
    "Audio Modeling for the 10th ABAW EMI Track (arXiv 2603.13760)"
)
_HSEMOTION = (
    "Savchenko, HSEmotion Team at ABAW-8 Competition: Audiovisual Ambivalence/Hesitancy, "
    "Emotional Mimicry Intensity and Facial Expression Recognition (arXiv 2503.10399)"
)
_LATE = (
    "Two-Stage Multimodal Framework for Emotion Mimicry Intensity Prediction, "
    "10th ABAW EMI track, third place (arXiv 2605.21869)"
)

PAPER_NUMBERS: dict[str, PaperNumber] = {
    # v1 Table 2: unimodal, official features (organiser baselines) vs the Stage I encoders
    "dscmn_v1_t2_vit_baseline": PaperNumber(0.09, "v1", f"{_V1}, Table 2, ViT (baseline)"),
    "dscmn_v1_t2_vit_ours": PaperNumber(0.16, "v1", f"{_V1}, Table 2, ViT (ours)"),
    "dscmn_v1_t2_wav2vec2_baseline": PaperNumber(
        0.24, "v1", f"{_V1}, Table 2, Wav2Vec2.0 (baseline)"
    ),
    "dscmn_v1_t2_wav2vec2_ours": PaperNumber(0.2734, "v1", f"{_V1}, Table 2, Wav2Vec2.0 (ours)"),
    # v1 Table 3: multimodal ablation with the Stage I encoders
    "dscmn_v1_t3_va": PaperNumber(0.2846, "v1", f"{_V1}, Table 3, ViT + Wav2Vec2.0"),
    "dscmn_v1_t3_vt": PaperNumber(0.2934, "v1", f"{_V1}, Table 3, ViT + BERT"),
    "dscmn_v1_t3_at": PaperNumber(0.3518, "v1", f"{_V1}, Table 3, Wav2Vec2.0 + BERT"),
    "dscmn_v1_t3_vat": PaperNumber(0.3626, "v1", f"{_V1}, Table 3, ViT + Wav2Vec2.0 + BERT"),
    # the organiser baselines as v1 quotes them in its introduction
    "baseline_fusion": PaperNumber(0.25, "v1", f"{_V1}, Section 1, baseline average fusion"),
    # v3: the final system (validation; 0.68 on the hidden test set)
    "dscmn_v3_vat": PaperNumber(0.51, "v3", f"{_V3}, validation"),
    # peers: the best validation score each write-up reports for its system
    "abaw10_concat_mlp": PaperNumber(
        0.4786,
        "ABAW10",
        f"{_CONCAT}, abstract: best validation mean Pearson 0.478567 (feature concatenation, "
        "MSE + Pearson + auxiliary-branch loss, EMA, VAD-inspired audio prior)",
    ),
    "abaw8_hsemotion_pooled_mlp": PaperNumber(
        0.446,
        "ABAW8",
        f"{_HSEMOTION}, EMI validation with audio and text embeddings, about 0.446 (the figure "
        "quoted for the write-up's best EMI model; not checked against its table)",
    ),
    "abaw10_late_fusion": PaperNumber(
        0.4722,
        "ABAW10",
        f"{_LATE}, abstract: validation 0.4722 (text-audio-vision-motion fusion, expanded 4:1 "
        "split of train and valid, not the official valid split; 0.57 on the test set)",
    ),
}

# what each source tag names, for table captions
PAPER_TAGS: dict[str, str] = {
    "v1": "the method of arXiv v1, whose Tables 2 and 3 this reproduces",
    "v3": "the final system of arXiv v3",
    "ABAW10": "the 10th ABAW EMI write-up of that system (each source in paper_numbers.py)",
    "ABAW8": "the 8th ABAW EMI write-up of that system (each source in paper_numbers.py)",
}

# v1 Table 1: the Hume-Vidmimic2 partitions (duration h:mm:ss, clips)
PAPER_TABLE1: dict[str, tuple[str, int]] = {
    "train": ("15:07:03", 8072),
    "valid": ("9:12:02", 4588),
    "test": ("9:04:05", 4586),
    "total": ("33:23:10", 17246),
}


def paper_number(key: str) -> PaperNumber:
    """The published number ``key``; a KeyError naming the known ids otherwise."""
    try:
        return PAPER_NUMBERS[key]
    except KeyError:
        raise KeyError(
            f"unknown paper number {key!r} (config report.tables); known: {', '.join(PAPER_NUMBERS)}"
        ) from None
