# Functions (input functions, targets, params) for the rules in workflow/rules/robustness.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.
# A condition (config robustness.conditions) is a branch of the DAG: the media stores it changes
# (corrupt, or transcribe for asr) -> the feature stores it changes -> every trained run predicts
# (docs/robustness.md). Everything it leaves alone is the clean file.

import shlex

from emibench.features.official import has_organiser
from emibench.robustness.spec import robustness_settings
from emibench.settings import ConfigError

try:
    ROBUSTNESS = robustness_settings(config["robustness"])
except ConfigError as err:
    raise WorkflowError(f"config key {err}") from None
CONDITIONS = ROBUSTNESS.parsed
ROBUST_SPLITS = list(ROBUSTNESS.splits)
if "test" in ROBUST_SPLITS and not config["dataset"]["test_labels"]:
    raise WorkflowError(
        "config key robustness.splits: 'test' needs test labels (dataset.test_labels is empty)"
    )
ROBUST_REPORT = config["report"]["robustness"]

# media store -> (its clean path, the condition's path)
MEDIA = {
    "frames": ("frames", "condition_frames"),
    "audio": ("audio", "condition_audio"),
    "transcripts": ("transcript_shard", "condition_transcripts"),
}
ROBUSTNESS_TABLES = ["robustness", "robustness_weights", "robustness_compare"]
ROBUSTNESS_FIGURES = ["robustness", "robustness_weights"]


def changed_media(condition):
    """The media stores whose file the condition replaces: those `emibench corrupt` writes, and
    the transcripts of an asr condition (`emibench transcribe` on its audio)."""
    cond = CONDITIONS[condition]
    stores = set(cond.corrupts)
    if cond.text == "asr":
        stores.add("transcripts")
    return stores


def changed_features(condition):
    """The feature modalities the condition changes: visual for vision ops; audio for audio ops
    and dropped frames (audio is pooled onto the frames' timestamps); text unless the clean
    transcripts are kept."""
    cond = CONDITIONS[condition]
    out = set()
    if cond.vision_ops:
        out.add("visual")
    if cond.audio_ops or cond.op("drop_frames") is not None:
        out.add("audio")
    if cond.text != "clean":
        out.add("text")
    return out


def conditions_changing(store):
    """Conditions that replace the media ``store`` (for wildcard constraints)."""
    return [c for c in CONDITIONS if store in changed_media(c)]


def conditions_with_text(source):
    """Conditions whose transcripts are ``removed`` or ``asr``."""
    return [c for c, cond in CONDITIONS.items() if cond.text == source]


def media_shards(store, condition=None, splits=SPLITS):
    """Every shard's file of a media store (frames, audio, transcripts) in ``splits``: under
    ``condition``, its file for the splits it applies to where it changes the store."""
    clean, changed = MEDIA[store]
    swap = condition is not None and store in changed_media(condition)
    return [
        path
        for split in splits
        for path in (
            per_shard(PATHS[changed], split, condition=condition)
            if swap and split in ROBUST_SPLITS
            else per_shard(PATHS[clean], split)
        )
    ]


def feature_shards(featset, modality, condition=None, splits=SPLITS):
    """Every shard's feature store of one set and modality in ``splits``: under ``condition``,
    its store for the splits it applies to where it changes the modality."""
    swap = condition is not None and modality in changed_features(condition)
    return [
        path
        for split in splits
        for path in (
            per_shard(
                PATHS["condition_features"],
                split,
                condition=condition,
                featset=featset,
                modality=modality,
            )
            if swap and split in ROBUST_SPLITS
            else per_shard(PATHS["features"], split, featset=featset, modality=modality)
        )
    ]


def organiser_features(modality):
    """True when the official set's ``modality`` comes from the organisers' files: computed once
    from the clean videos, no condition can change them (auto: where the root has them now).
    """
    setting = FEATURES["official_source"]
    if modality == "text" or setting == "encoders" or SOURCE == "synthetic":
        return False
    return setting == "organiser" or has_organiser(ROOT, modality)


def fused_members(system, variant):
    """(system, variant) of every member of a fused or late-fusion system."""
    return [m.split("/", 1) for m in members(system, variant)]


def not_evaluated(system, variant, condition):
    """Why a run is not evaluated under the condition, or None: it reads official features of a
    modality the condition changes, and those come from the organisers' files (computed once
    from the clean videos, no condition can change them). A fused run needs every member.
    """
    cfg = run_config(system, variant)
    if is_fusion(system) or is_stacked(system):
        reasons = [not_evaluated(*m, condition) for m in fused_members(system, variant)]
        return next((r for r in reasons if r), None)
    if cfg["features"] != "official":
        return None
    changed = changed_features(condition)
    fixed = [
        STORE_OF[m]
        for m in cfg["modalities"]
        if STORE_OF[m] in changed and organiser_features(STORE_OF[m])
    ]
    if not fixed:
        return None
    return f"its {' and '.join(fixed)} features are the organisers' files, which {condition} cannot change"


def robust_runs():
    """(system, variant, seed) of every run a condition's predict job answers for: trained runs
    first, then those built on them (fused, late fusion)."""
    return [
        (system, variant, seed)
        for system in [*TRAINED, *FUSED, *STACKED]
        for variant, seed in runs(system)
    ]


def condition_out(system, variant, seed, condition, name):
    return PATHS["condition_run_file"].format(
        system=system, variant=variant, seed=seed, condition=condition, name=name
    )


def condition_dir(system, variant, seed, condition):
    """A run's output folder under the condition."""
    return os.path.dirname(
        condition_out(system, variant, seed, condition, "metrics.json")
    )


def predict_outputs():
    """Output files of a condition's predict job (``{condition}`` left as a wildcard): every
    run's metrics.json (its predictions beside it where the run is evaluated)."""
    return [condition_out(*run, "{condition}", "metrics.json") for run in robust_runs()]


def predict_plan(condition):
    """(store groups {(key, paths): number}, --run, --fuse, --stack and --skip entries) of the
    condition's predict job. A run's stores are run_stores() of train.smk under the condition.
    """
    groups = {}
    trained, fused, stacked, skipped = [], [], [], []
    for system, variant, seed in robust_runs():
        run_dir = PATHS["run_dir"].format(system=system, variant=variant, seed=seed)
        out_dir = condition_dir(system, variant, seed, condition)
        reason = not_evaluated(system, variant, condition)
        if reason:
            skipped.append([run_dir, out_dir, shlex.quote(reason)])
            continue
        member_outs = (
            [condition_dir(*m, seed, condition) for m in fused_members(system, variant)]
            if is_fusion(system) or is_stacked(system)
            else []
        )
        if is_fusion(system):
            fused.append([run_dir, out_dir, *member_outs])
            continue
        stores = run_stores(system, variant, seed, condition, ROBUST_SPLITS)
        numbers = [
            str(groups.setdefault((key, tuple(paths)), len(groups)))
            for key, paths in stores.items()
        ]
        if is_stacked(system):
            stacked.append([run_dir, out_dir, ",".join(numbers), *member_outs])
        else:
            trained.append([run_dir, out_dir, *numbers])
    return groups, trained, fused, stacked, skipped


def predict_inputs(wildcards):
    """Input function of a condition's predict job: the manifest, every evaluated run's
    model.pt and metrics.json (metrics.json of fused and skipped runs) and every store they
    read."""
    groups, trained, fused, stacked, skipped = predict_plan(wildcards.condition)
    runs_in = [
        os.path.join(entry[0], name)
        for entry in trained + stacked
        for name in ("model.pt", "metrics.json")
    ]
    runs_in += [os.path.join(entry[0], "metrics.json") for entry in fused + skipped]
    return {
        "manifest": PATHS["manifest"],
        "runs": runs_in,
        "stores": sorted({p for _, paths in groups for p in paths}),
    }


def predict_options(wildcards):
    """``--stores N KEY paths`` per group, ``--run RUN OUT N...``, ``--fuse RUN OUT MEMBERS``,
    ``--stack RUN OUT N,N MEMBERS`` and ``--skip RUN OUT REASON``."""
    groups, trained, fused, stacked, skipped = predict_plan(wildcards.condition)
    words = [
        f"--stores {number} {key} {' '.join(paths)}"
        for (key, paths), number in groups.items()
    ]
    words += [f"--run {' '.join(entry)}" for entry in trained]
    words += [f"--fuse {' '.join(entry)}" for entry in fused]
    words += [f"--stack {' '.join(entry)}" for entry in stacked]
    words += [f"--skip {' '.join(entry)}" for entry in skipped]
    return " ".join(words)


def condition_spec(condition):
    """The condition's ops with every parameter filled in, as one JSON word (a changed op or
    parameter changes the params of its branch's jobs)."""
    return as_json(CONDITIONS[condition].to_spec())


def condition_feature_outputs(split):
    """Every shard's condition feature store of ``split`` (condition, featset, modality left)."""
    return per_shard(PATHS["condition_features"], split)


def condition_transcribe_inputs(wildcards):
    """transcribe_inputs of preprocess.smk with the condition's audio store."""
    inputs = transcribe_inputs(wildcards)
    inputs["audio"] = PATHS["condition_audio"].format(
        condition=wildcards.condition, split=wildcards.split, shard=wildcards.shard
    )
    return inputs


def condition_metrics():
    """metrics.json of every run under every condition."""
    return [
        condition_out(*run, condition, "metrics.json")
        for condition in CONDITIONS
        for run in robust_runs()
    ]


def robustness_table_files():
    return expand(PATHS["table"], table=ROBUSTNESS_TABLES, ext=TABLE_FORMATS)


def robustness_figure_files():
    return expand(PATHS["figure"], figure=ROBUSTNESS_FIGURES)


def robustness_targets():
    """Final outputs of workflow/rules/robustness.smk for `rule all` (nothing without
    conditions): the collected table, the DVC metrics, tables and figures."""
    if not CONDITIONS:
        return []
    return [
        PATHS["robustness_results"],
        PATHS["robustness_metrics"],
        *robustness_table_files(),
        *robustness_figure_files(),
    ]
