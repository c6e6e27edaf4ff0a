# Functions (input functions, targets, params) for the rules in workflow/rules/preprocess.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.

import shlex

PREPROCESS = config["preprocess"]
ASR = PREPROCESS["asr"]
ASR_BACKEND = ASR["backend"]
# The tiny random-initialised Whisper the workflow builds when the config points at it.
TINY_WHISPER = PATHS["tiny_whisper"]


def uses_phrase_bank():
    """True when PocketSphinx decodes with the phrase-bank grammar."""
    return ASR_BACKEND == "pocketsphinx" and ASR["vocabulary"] == "phrase_bank"


def phrases_option():
    """``--phrases <root>/phrases.txt`` for the phrase-bank grammar, else nothing."""
    return f"--phrases {shlex.quote(PATHS['phrases'])}" if uses_phrase_bank() else ""


def transcribe_inputs(wildcards):
    """Manifest, the shard's audio store, the phrase bank when PocketSphinx uses it, and the
    local tiny Whisper when the config names it."""
    inputs = {
        "manifest": PATHS["manifest"],
        "audio": PATHS["audio"].format(split=wildcards.split, shard=wildcards.shard),
    }
    if uses_phrase_bank():
        inputs["phrases"] = raw(PATHS["phrases"])
    if ASR_BACKEND == "whisper" and ASR["model"].rstrip("/") == TINY_WHISPER:
        inputs["model"] = TINY_WHISPER
    return inputs


def transcribe_gpus():
    """GPUs a transcription job asks for: the configured ones for Whisper, none for PocketSphinx."""
    return step_resource("transcribe", "gpu") if ASR_BACKEND == "whisper" else 0


def transcript_shards(wildcards):
    """Every shard's transcript table of one split."""
    return PLAN.media_shards("transcripts", wildcards.split)


def preprocess_targets():
    """Final outputs of workflow/rules/preprocess.smk, for the default target: every frames and
    audio shard, and the per-split transcripts."""
    return [
        *all_shards(PATHS["frames"]),
        *all_shards(PATHS["audio"]),
        *expand(PATHS["transcripts"], split=SPLITS),
    ]
