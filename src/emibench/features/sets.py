"""The feature sets a run can read (docs/features.md).

- ``official``: the organisers' ``vit/`` and ``wav2vec2/`` files, or the frozen baseline encoders
  where the dataset lacks them (the baselines' input).
- ``frozen``: the paper's encoders (``encoders.vision``, ``encoders.audio``, ``encoders.text``)
  without Stage I; what Stage I starts from.
- ``stage1``: the Stage I encoders with their projection heads ("ours" in Table 2).
- ``taemi``: visual only: TAEMI's vision encoder (``encoders.taemi_vision``, ViT-in21k) on the
  face crops; TAEMI reads audio and text raw and encodes them itself, end to end.
"""

FEATURE_SETS: tuple[str, ...] = ("official", "frozen", "stage1", "taemi")
# the stores each set is made of (no other is written)
SET_MODALITIES: dict[str, tuple[str, ...]] = {
    "official": ("visual", "audio", "text"),
    "frozen": ("visual", "audio", "text"),
    "stage1": ("visual", "audio", "text"),
    "taemi": ("visual",),
}
