# Functions (input functions, targets, params) for the rules in workflow/rules/features.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.

import os

ENCODERS = config["encoders"]
FEATURES = config["features"]
STAGE1 = config["stage1"]
FEATSETS = ["official", "stage1"]
FEATURE_MODALITIES = ["visual", "audio", "text"]
# One features job per shard (clusters, GPUs), or per split (the demo: fewer Python start-ups).
FEATURES_PER_SPLIT = FEATURES.get("job_per", "shard") == "split"
PAIRS = {"vision_text": "vision", "audio_text": "audio"}
# The demo's tiny random-initialised encoders, built by rule make_tiny_models.
TINY_MODELS = {
    role: PATHS["local_models"].format(role=role) for role in ("clip", "wav2vec2")
}


def _model_path(spec):
    return spec.get("model_name", spec.get("name", ""))


def tiny_models_for(*keys):
    """The tiny model folders that the encoders ``encoders.<key>`` name (nothing for real models)."""
    wanted = {os.path.normpath(_model_path(ENCODERS[k])) for k in keys}
    return [path for path in TINY_MODELS.values() if os.path.normpath(path) in wanted]


def stage1_ckpt(pair):
    return PATHS["stage1_ckpt"].format(pair=pair)


def stage1_text_pair():
    """The Stage I pair whose text encoder and head make the stage1 text features."""
    return STAGE1.get("text_pair", "vision_text")


def feature_job_inputs(split, shard_list):
    """Input function of a features job over ``shard_list`` of ``split``: the manifest, each
    shard's frames, audio and transcripts, and the set's tiny models or Stage I checkpoints.
    """

    def inputs(wildcards):
        files = {
            "manifest": PATHS["manifest"],
            "frames": [
                PATHS["frames"].format(split=split, shard=s) for s in shard_list
            ],
            "audio": [PATHS["audio"].format(split=split, shard=s) for s in shard_list],
            "transcripts": [
                PATHS["transcript_shard"].format(split=split, shard=s)
                for s in shard_list
            ],
        }
        if wildcards.featset == "official":
            files["models"] = tiny_models_for(
                "baseline_vision", "baseline_audio", "text"
            )
        else:
            files["checkpoints"] = sorted(
                {
                    stage1_ckpt(p)
                    for p in ("vision_text", "audio_text", stage1_text_pair())
                }
            )
        return files

    return inputs


def feature_inputs(wildcards):
    """Input function of the per-shard features rule."""
    return feature_job_inputs(wildcards.split, [wildcards.shard])(wildcards)


def feature_outputs(split, modality):
    """Every shard's store of one modality of ``split`` (``{featset}`` left as a wildcard)."""
    return per_shard(PATHS["features"], split, modality=modality)


def feature_source_args(wildcards):
    """CLI options naming where one feature set comes from (encoders or Stage I checkpoints)."""
    if wildcards.featset == "official":
        return (
            f"--dataset-root {ROOT} --vision {as_json(ENCODERS['baseline_vision'])}"
            f" --audio-encoder {as_json(ENCODERS['baseline_audio'])}"
            f" --text {as_json(ENCODERS['text'])}"
        )
    return (
        f"--visual-ckpt {stage1_ckpt('vision_text')} --audio-ckpt {stage1_ckpt('audio_text')}"
        f" --text-ckpt {stage1_ckpt(stage1_text_pair())}"
    )


def stage1_inputs(wildcards):
    """Each split's media stores (frames or audio) and transcripts, and the pair's tiny models."""
    kind = PAIRS[wildcards.pair]
    media = PATHS["frames"] if kind == "vision" else PATHS["audio"]
    inputs = {"models": tiny_models_for(kind, "text")}
    for split in ("train", "valid", "test"):
        inputs[f"{split}_media"] = per_shard(media, split)
        inputs[f"{split}_transcripts"] = PATHS["transcripts"].format(split=split)
    return inputs


def stage1_media_encoder(wildcards):
    """The pair's media encoder spec as one JSON word."""
    return as_json(ENCODERS[PAIRS[wildcards.pair]])


def feature_targets():
    """Final outputs of workflow/rules/features.smk for the default target: every shard's three feature
    stores of both feature sets, and both Stage I checkpoints and logs."""
    return [
        *all_shards(PATHS["features"], featset=FEATSETS, modality=FEATURE_MODALITIES),
        *expand(PATHS["stage1_ckpt"], pair=list(PAIRS)),
        *expand(PATHS["stage1_log"], pair=list(PAIRS)),
    ]
