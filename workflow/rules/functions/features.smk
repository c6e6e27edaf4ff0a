# Functions (input functions, targets, params) for the rules in workflow/rules/features.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.

import os

ENCODERS = config["encoders"]
FEATURES = config["features"]
STAGE1 = config["stage1"]
STAGE1_SEEDS = STAGE1["seeds"]
FEATURE_MODALITIES = ["visual", "audio", "text"]
PAIRS = {"vision_text": "vision", "audio_text": "audio"}
# The encoder keys each encoder-made feature set reads (stage1 reads Stage I checkpoints); a set
# holds the stores of the encoders it names (taemi: visual only; TAEMI encodes audio and text
# itself, end to end).
SET_ENCODERS = {
    "official": {
        "vision": "baseline_vision",
        "audio": "baseline_audio",
        "text": "text",
    },
    "frozen": {"vision": "vision", "audio": "audio", "text": "text"},
    "taemi": {"vision": "taemi_vision"},
}
STORE_OF_ENCODER = {"vision": "visual", "audio": "audio", "text": "text"}
# The demo's tiny random-initialised encoders, built by rule make_tiny_models.
TINY_MODELS = {
    role: PATHS["local_models"].format(role=role) for role in ENCODERS["tiny"]["models"]
}


def stage1_set(seed):
    """The directory name of the stage1 feature set made by the Stage I models of ``seed``."""
    return f"stage1_seed{seed}"


FEATSET_DIRS = ["official", "frozen", "taemi", *(stage1_set(s) for s in STAGE1_SEEDS)]
STAGE1_PATTERN = "stage1_seed\\d+"


def featset_kind(featset_dir):
    """``official``, ``frozen``, ``taemi`` or ``stage1`` (for ``stage1_seed<k>``)."""
    return "stage1" if featset_dir.startswith("stage1_seed") else featset_dir


def set_stores(kind):
    """The stores a feature set kind is made of (``visual``, ``audio``, ``text``)."""
    if kind == "stage1":
        return list(FEATURE_MODALITIES)
    return [STORE_OF_ENCODER[role] for role in SET_ENCODERS[kind]]


def featset_shapes():
    """{stores: wildcard pattern of the feature set directories made of exactly those stores}:
    one features rule per split and shape, so that a set writes no store nobody reads.
    """
    shapes = {}
    for kind in [*SET_ENCODERS, "stage1"]:
        pattern = STAGE1_PATTERN if kind == "stage1" else kind
        shapes.setdefault(tuple(set_stores(kind)), []).append(pattern)
    return {stores: "|".join(patterns) for stores, patterns in shapes.items()}


FEATSET_SHAPES = featset_shapes()
FEATSET_PATTERN = "|".join(FEATSET_SHAPES.values())


def features_rule_name(split, stores):
    """``features_<split>`` for sets of all three stores, else ``features_<split>_<stores>``."""
    if list(stores) == FEATURE_MODALITIES:
        return f"features_{split}"
    return f"features_{split}_" + "_".join(stores)


def featset_seed(featset_dir):
    return int(featset_dir.removeprefix("stage1_seed"))


def _model_path(spec):
    return spec.get("model_name", spec.get("name", ""))


def tiny_models_for(*keys):
    """The tiny model folders that the encoders ``encoders.<key>`` name (nothing for real models)."""
    wanted = {os.path.normpath(_model_path(ENCODERS[k])) for k in keys}
    return [path for path in TINY_MODELS.values() if os.path.normpath(path) in wanted]


def stage1_ckpt(pair, seed):
    return PATHS["stage1_ckpt"].format(pair=pair, seed=seed)


def stage1_text_pair():
    """The Stage I pair whose text encoder and head make the stage1 text features."""
    return STAGE1["text_pair"]


def feature_inputs(split, stores, robust=False):
    """Input function of the features job of ``split`` for sets of ``stores``: the manifest,
    each shard's frames (the visual time base), audio and transcripts where the set makes those
    stores (with ``robust``, those of the job's robustness condition), and the set's tiny models
    or Stage I checkpoints."""

    def inputs(wildcards):
        condition = wildcards.condition if robust else None
        files = {
            "manifest": PATHS["manifest"],
            "frames": media_shards("frames", condition, [split]),
        }
        if "audio" in stores:
            files["audio"] = media_shards("audio", condition, [split])
        if "text" in stores:
            files["transcripts"] = media_shards("transcripts", condition, [split])
        kind = featset_kind(wildcards.featset)
        if kind == "stage1":
            seed = featset_seed(wildcards.featset)
            pairs = {"vision_text", "audio_text", stage1_text_pair()}
            files["checkpoints"] = sorted(stage1_ckpt(p, seed) for p in pairs)
        else:
            files["models"] = tiny_models_for(*SET_ENCODERS[kind].values())
        return files

    return inputs


def feature_outputs(split, stores):
    """{store: every shard's path of that store of ``split``} (``{featset}`` left as a wildcard)."""
    return {m: per_shard(PATHS["features"], split, modality=m) for m in stores}


def feature_io_args(wildcards, input, output):
    """``--audio``, ``--transcripts`` and the ``--<store>-out`` options of a features job."""
    args = [
        f"--{name} {' '.join(input[name])}"
        for name in ("audio", "transcripts")
        if name in input.keys()
    ]
    args += [f"--{m}-out {' '.join(output[m])}" for m in output.keys()]
    return " ".join(args)


def feature_source_args(wildcards):
    """CLI options naming where one feature set comes from (encoders or Stage I checkpoints)."""
    kind = featset_kind(wildcards.featset)
    if kind == "stage1":
        seed = featset_seed(wildcards.featset)
        return (
            f"--visual-ckpt {stage1_ckpt('vision_text', seed)}"
            f" --audio-ckpt {stage1_ckpt('audio_text', seed)}"
            f" --text-ckpt {stage1_ckpt(stage1_text_pair(), seed)}"
        )
    options = {"vision": "--vision", "audio": "--audio-encoder", "text": "--text"}
    args = " ".join(
        f"{options[role]} {as_json(ENCODERS[key])}"
        for role, key in SET_ENCODERS[kind].items()
    )
    if kind == "official":
        args += f" --dataset-root {ROOT_ARG} --official-source {FEATURES['official_source']}"
    return args


def stage1_inputs(wildcards):
    """Each split's media stores (frames or audio) and transcripts, and the pair's tiny models."""
    kind = PAIRS[wildcards.pair]
    media = PATHS["frames"] if kind == "vision" else PATHS["audio"]
    inputs = {"models": tiny_models_for(kind, "text")}
    for split in SPLITS:
        inputs[f"{split}_media"] = per_shard(media, split)
        inputs[f"{split}_transcripts"] = PATHS["transcripts"].format(split=split)
    return inputs


def stage1_media_encoder(wildcards):
    """The pair's media encoder spec as one JSON word."""
    return as_json(ENCODERS[PAIRS[wildcards.pair]])


def stage1_settings(wildcards):
    """Config section stage1 for one seed's job, as one JSON word."""
    settings = {k: v for k, v in STAGE1.items() if k != "seeds"}
    return as_json({**settings, "seed": int(wildcards.seed)})


def feature_targets():
    """Final outputs of workflow/rules/features.smk for the default target: every Stage I
    checkpoint and log (the feature stores are made for the runs that read them)."""
    return [
        *expand(PATHS["stage1_ckpt"], pair=list(PAIRS), seed=STAGE1_SEEDS),
        *expand(PATHS["stage1_log"], pair=list(PAIRS), seed=STAGE1_SEEDS),
    ]
