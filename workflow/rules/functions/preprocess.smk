# Functions (input functions, targets, params) for the rules in workflow/rules/preprocess.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.
# Transcript sets: `default` is preprocess.asr; preprocess.transcript_sets adds named sets over it
# (TAEMI's own), made by the same rules into their own tables (docs/preprocess.md).

import shlex

PREPROCESS = config["preprocess"]
TRANSCRIPT_SETS = PLAN.transcript_sets
ASR = TRANSCRIPT_SETS.config("default")
NAMED_SETS = [name for name in TRANSCRIPT_SETS.sets if name != "default"]
# The tiny random-initialised Whisper the workflow builds when the config points at it.
TINY_WHISPER = PATHS["tiny_whisper"]


def asr_of(wildcards):
    """The ASR settings of the job's transcript set (``tset`` wildcard; default without one)."""
    return TRANSCRIPT_SETS.config(getattr(wildcards, "tset", "default"))


def uses_phrase_bank(asr):
    """True when PocketSphinx decodes with the phrase-bank grammar."""
    return asr["backend"] == "pocketsphinx" and asr["vocabulary"] == "phrase_bank"


def phrases_option(wildcards):
    """``--phrases <root>/phrases.txt`` for the phrase-bank grammar, else nothing."""
    if not uses_phrase_bank(asr_of(wildcards)):
        return ""
    return f"--phrases {shlex.quote(PATHS['phrases'])}"


def asr_config(wildcards):
    """The job's ASR settings as one JSON word."""
    return as_json(asr_of(wildcards))


def transcribe_inputs(wildcards):
    """Manifest, the shard's audio store, the phrase bank when PocketSphinx uses it, and the
    local tiny Whisper when the set names it."""
    asr = asr_of(wildcards)
    inputs = {
        "manifest": PATHS["manifest"],
        "audio": PATHS["audio"].format(split=wildcards.split, shard=wildcards.shard),
    }
    if uses_phrase_bank(asr):
        inputs["phrases"] = raw(PATHS["phrases"])
    if asr["backend"] == "whisper" and asr["model"].rstrip("/") == TINY_WHISPER:
        inputs["model"] = TINY_WHISPER
    return inputs


def transcribe_gpus(wildcards):
    """GPUs a transcription job asks for: the configured ones for Whisper, none for PocketSphinx."""
    return (
        step_resource("transcribe", "gpu")
        if asr_of(wildcards)["backend"] == "whisper"
        else 0
    )


def transcript_shards(wildcards):
    """Every shard's transcript table of one split (of the job's transcript set)."""
    return PLAN.transcript_shards(
        getattr(wildcards, "tset", "default"), wildcards.split
    )


def preprocess_targets():
    """Final outputs of workflow/rules/preprocess.smk, for the default target: every frames and
    audio shard, and the per-split transcripts."""
    return [
        *all_shards(PATHS["frames"]),
        *all_shards(PATHS["audio"]),
        *expand(PATHS["transcripts"], split=SPLITS),
    ]
