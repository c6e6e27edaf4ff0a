"""The feature sets a run can read (docs/features.md), and the encoders each is made by.

- ``official``: the organisers' ``vit/`` and ``wav2vec2/`` files, or the frozen baseline encoders
  where the dataset lacks them (the baselines' input).
- ``frozen``: the paper's encoders (``encoders.vision``, ``encoders.audio``, ``encoders.text``)
  without Stage I; what Stage I starts from.
- ``stage1``: the Stage I encoders ("ours" in Table 2): by default their own per-frame and
  per-token outputs (768 / 1,024 / 768 wide at paper size), which Stage II reads as the paper
  says; ``head`` adds Stage I's projection heads (``stage1.proj_dim`` wide, our earlier form);
  one set per Stage I seed, in the folder ``stage1_seed<k>``.
- ``taemi``: visual only: TAEMI's vision encoder (``encoders.taemi_vision``, ViT-in21k) on the
  face crops; TAEMI reads audio and text raw and encodes them itself, end to end.
"""

FEATURE_SETS: tuple[str, ...] = ("official", "frozen", "stage1", "taemi")
STORES: tuple[str, ...] = ("visual", "audio", "text")
# store -> the key of config section encoders whose encoder makes it (the stage1 set is made by
# the Stage I checkpoints instead); a set holds exactly the stores listed, no other is written
SET_ENCODERS: dict[str, dict[str, str]] = {
    "official": {"visual": "baseline_vision", "audio": "baseline_audio", "text": "text"},
    "frozen": {"visual": "vision", "audio": "audio", "text": "text"},
    "taemi": {"visual": "taemi_vision"},
}
SET_MODALITIES: dict[str, tuple[str, ...]] = {
    **{name: tuple(encoders) for name, encoders in SET_ENCODERS.items()},
    "stage1": STORES,
}
STAGE1_PREFIX = "stage1_seed"
# what the stage1 set stores (config stage1.features): the encoders' outputs, or the projection
# heads applied to them
STAGE1_OUTPUTS: tuple[str, ...] = ("encoder", "head")
# Stage I pairs: the media store each aligns with text, and the encoder key (section encoders) of
# each media store
STAGE1_PAIRS: dict[str, str] = {"vision_text": "visual", "audio_text": "audio"}
ENCODER_KIND: dict[str, str] = {"visual": "vision", "audio": "audio"}
JOINT = "joint"
# a Stage I job (emibench stage1 --pair) -> the pairs its model trains (joint: both, one text
# encoder, the paper's L_v2t + L_a2t)
STAGE1_TARGETS: dict[str, tuple[str, ...]] = {
    JOINT: tuple(STAGE1_PAIRS),
    **{pair: (pair,) for pair in STAGE1_PAIRS},
}
# config stage1.objective -> its Stage I jobs, one per seed each
STAGE1_OBJECTIVES: dict[str, tuple[str, ...]] = {"joint": (JOINT,), "pairs": tuple(STAGE1_PAIRS)}


def featset_dir(kind: str, stage1_seed: int | None = None) -> str:
    """The folder of a feature set: its kind, or ``stage1_seed<k>`` for Stage I seed k."""
    if kind == "stage1":
        return f"{STAGE1_PREFIX}{stage1_seed}"
    return kind


def featset_kind(folder: str) -> str:
    """``official``, ``frozen``, ``taemi`` or ``stage1`` (for ``stage1_seed<k>``)."""
    return "stage1" if folder.startswith(STAGE1_PREFIX) else folder


def featset_pattern(stores: tuple[str, ...]) -> str:
    """A wildcard pattern of the feature set folders made of exactly ``stores``."""
    names = [
        rf"{STAGE1_PREFIX}\d+" if kind == "stage1" else kind
        for kind, made in SET_MODALITIES.items()
        if made == tuple(stores)
    ]
    return "|".join(names) or "(?!)"
