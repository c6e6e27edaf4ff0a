# Functions (input functions, targets, params) for the rules in workflow/rules/train.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.
# A system trains a model (`model`), averages other runs (`fuse`), or trains a late-fusion
# regressor on other runs' predictions (`stack`); see docs/models.md and docs/peers.md.
# One job per (system, variant) trains, fuses or stacks every seed of train.seeds, each into its
# own run folder (one Python and torch start-up per job instead of per run).

import os

TRAIN = config["train"]
SYSTEMS = TRAIN["systems"]
SEEDS = TRAIN["seeds"]
STORE_OF = {"V": "visual", "A": "audio", "T": "text"}
# A model that names the encoder of a modality (keys of section encoders) encodes it itself,
# end to end, from raw media: store key `wave` (the audio stores) or `text` (the transcripts)
# instead of the feature store (emibench.models.inputs.RAW_KEYS, TAEMI.ENCODER_KEYS).
RAW_INPUTS = {"A": ("wave", "audio_encoder"), "T": ("text", "text_encoder")}

RUN_FILES = [
    "metrics.json",
    "predictions_train.csv",
    "predictions_valid.csv",
    "predictions_test.csv",
]
TRAINED_FILES = [*RUN_FILES, "timing.json", "train_log.tsv", "model.pt", "log.txt"]
FUSED_FILES = [*RUN_FILES, "members.json"]
STACKED_FILES = [*RUN_FILES, "timing.json", "train_log.tsv", "model.pt"]


def test_labels_input():
    """The test labels file, when the config names one, so that new labels retrigger the runs."""
    path = config["dataset"]["test_labels"]
    return [raw(path)] if path else []


def test_labels_option(wildcards, input):
    """``--test-labels <file>``, or nothing when the test labels are hidden."""
    return (
        f"--test-labels {input.test_labels}" if config["dataset"]["test_labels"] else ""
    )


def is_fusion(system):
    """True for a system that averages other runs instead of training."""
    return "fuse" in SYSTEMS[system]


def is_stacked(system):
    """True for a late-fusion system: a regressor trained on other runs' predictions."""
    return "stack" in SYSTEMS[system]


TRAINED = [s for s in SYSTEMS if not is_fusion(s) and not is_stacked(s)]
FUSED = [s for s in SYSTEMS if is_fusion(s)]
STACKED = [s for s in SYSTEMS if is_stacked(s)]


def one_of(names):
    """A wildcard constraint matching exactly ``names`` (nothing when empty)."""
    return "|".join(names) if names else "(?!)"


def run_config(system, variant):
    """A run's resolved config: the system's keys overridden by the variant's; training settings
    layered train.defaults < system < variant < train.overrides; the encoder keys a model names
    replaced by their specs."""
    own = SYSTEMS[system]["variants"][variant] or {}
    base = SYSTEMS[system]
    resolved = {
        "features": own.get("features", base.get("features")),
        "modalities": own.get("modalities", base.get("modalities")),
    }
    if is_fusion(system):
        resolved["fuse"] = own.get("fuse", base["fuse"])
        return resolved
    if is_stacked(system):
        resolved["stack"] = {**base["stack"], **own.get("stack", {})}
    else:
        model = {**base.get("model", {}), **own.get("model", {})}
        for key in model_encoder_keys(system, variant):
            for option in ("audio_encoder", "text_encoder"):
                if model.get(option) == key:
                    model[option] = ENCODERS[key]
        resolved["model"] = model
    resolved["train"] = {
        **TRAIN["defaults"],
        **base.get("train", {}),
        **own.get("train", {}),
        **TRAIN.get("overrides", {}),
    }
    return resolved


def model_encoder_keys(system, variant):
    """The keys of section encoders that a run's model holds and trains end to end."""
    own = (SYSTEMS[system]["variants"][variant] or {}).get("model", {})
    model = {**SYSTEMS[system].get("model", {}), **own}
    keys = [model[option] for _, option in RAW_INPUTS.values() if model.get(option)]
    unknown = [key for key in keys if key not in ENCODERS]
    if unknown:
        raise WorkflowError(
            f"train.systems.{system} variant {variant}: model encoder(s) {unknown} are not keys "
            f"of section encoders ({', '.join(ENCODERS)})"
        )
    return keys


def run_files(names):
    """Every seed's files ``names`` of one (system, variant) (wildcards left in place)."""
    return expand(PATHS["run_file"], name=names, seed=SEEDS, allow_missing=True)


def run_dirs(wildcards):
    """Every seed's run folder of the job's (system, variant), in train.seeds order."""
    return " ".join(
        PATHS["run_dir"].format(
            system=wildcards.system, variant=wildcards.variant, seed=seed
        )
        for seed in SEEDS
    )


def runs(system):
    """(variant, seed) of every run of ``system``."""
    return [(v, s) for v in SYSTEMS[system]["variants"] for s in SEEDS]


def featset_dir(features, seed):
    """The feature set directory a run of ``seed`` reads: Stage I runs pair seed i of
    train.seeds with Stage I seed i mod len(stage1.seeds)."""
    if features != "stage1":
        return features
    return stage1_set(STAGE1_SEEDS[SEEDS.index(int(seed)) % len(STAGE1_SEEDS)])


def run_stores(system, variant, seed, condition=None, splits=SPLITS):
    """{store key: its files in ``splits``} of one run: the one place that maps a run to its
    inputs; under a robustness ``condition``, the condition's files where it changes them
    (robustness.smk).

    Keys V, A, T: every shard of that modality's feature store; ``wave``: the audio stores,
    ``text``: the transcripts, for a modality the model encodes itself.
    """
    cfg = run_config(system, variant)
    featset = featset_dir(cfg["features"], seed)
    model = cfg.get("model", {})
    stores = {}
    for m in cfg["modalities"]:
        key, option = RAW_INPUTS.get(m, (None, None))
        if option and model.get(option):
            media = "audio" if key == "wave" else "transcripts"
            stores[key] = media_shards(media, condition, splits)
        elif STORE_OF[m] not in set_stores(featset_kind(featset)):
            raise WorkflowError(
                f"train.systems.{system} variant {variant} reads the {STORE_OF[m]} store of "
                f"feature set {cfg['features']}, made of {set_stores(featset_kind(featset))} "
                "only; name the model's encoder of that modality or another feature set"
            )
        else:
            stores[m] = feature_shards(featset, STORE_OF[m], condition, splits)
    return stores


def train_inputs(wildcards):
    """Input function: every store that some seed of the job reads, and the tiny models of the
    encoders it trains end to end."""
    paths = {
        path
        for seed in SEEDS
        for stores in run_stores(wildcards.system, wildcards.variant, seed).values()
        for path in stores
    }
    models = tiny_models_for(*model_encoder_keys(wildcards.system, wildcards.variant))
    return sorted(paths) + models


def stores_option(wildcards):
    """``--stores SEED KEY path ...`` for every seed and store key of the job."""
    return " ".join(
        f"--stores {seed} {modality} {' '.join(paths)}"
        for seed in SEEDS
        for modality, paths in run_stores(
            wildcards.system, wildcards.variant, seed
        ).items()
    )


def members(system, variant):
    """The ``system/variant`` runs that a fusion or late-fusion run reads."""
    resolved = run_config(system, variant)
    return resolved["fuse"] if "fuse" in resolved else resolved["stack"]["members"]


def member_dirs(system, variant, seed):
    """The run folders of one seed's members."""
    return [
        PATHS["run_dir"].format(system=s, variant=v, seed=seed)
        for s, v in (m.split("/", 1) for m in members(system, variant))
    ]


def fusion_members(wildcards):
    """Input function: the metrics.json of each member run, every seed."""
    return [
        f"{run}/metrics.json"
        for seed in SEEDS
        for run in member_dirs(wildcards.system, wildcards.variant, seed)
    ]


def members_option(wildcards):
    """``--members SEED run_dir ...`` for every seed: the member runs of that seed."""
    return " ".join(
        f"--members {seed} "
        + " ".join(member_dirs(wildcards.system, wildcards.variant, seed))
        for seed in SEEDS
    )


def submission_runs(wildcards):
    """Input function: metrics.json of the runs a system's submission chooses from."""
    chosen = SYSTEMS[wildcards.system].get("submission_variant")
    return [
        PATHS["run_metrics"].format(system=wildcards.system, variant=v, seed=s)
        for v, s in runs(wildcards.system)
        if chosen is None or v == chosen
    ]


def folders(paths):
    """Run folders of metrics.json paths, for a shell command."""
    return [os.path.dirname(p) for p in paths]


def train_targets():
    """Final outputs of workflow/rules/train.smk for the all target: every run and submission."""
    metrics = [
        PATHS["run_metrics"].format(system=system, variant=variant, seed=seed)
        for system in SYSTEMS
        for variant, seed in runs(system)
    ]
    submissions = [PATHS["submission"].format(system=system) for system in SYSTEMS]
    return metrics + submissions


def jobs_run_in_conda():
    """True under ``--sdm conda``: the jobs' environment, not this one, holds the models."""
    settings = getattr(globals().get("workflow"), "deployment_settings", None)
    return "CONDA" in {m.name for m in getattr(settings, "deployment_method", ())}


def check_run_configs():
    """Fail before any job runs on a run config the library would reject: model names that do
    not resolve (built-in, plugin entry point or import path), unknown or missing model keys,
    members that are not runs of the config. The error names the system, variant and key.
    Model checks import the models here, so they are skipped where emibench is not importable or
    the jobs run in their own conda environment (which may alone hold a plugin); each job then
    checks its own config when it starts."""
    check_model_config = None
    if not jobs_run_in_conda():
        try:
            from emibench.models.registry import check_model_config
        except ImportError:
            pass
    for system in SYSTEMS:
        for variant in SYSTEMS[system]["variants"]:
            where = f"config train.systems.{system}.variants.{variant}"
            resolved = run_config(system, variant)
            if system in TRAINED:
                if check_model_config is None:
                    continue
                try:
                    check_model_config(resolved["model"], resolved["modalities"])
                except (KeyError, ValueError) as err:
                    raise WorkflowError(f"{where}: {err}") from None
                continue
            for member in members(system, variant):
                s, _, v = member.partition("/")
                if s not in TRAINED or v not in SYSTEMS[s]["variants"]:
                    raise WorkflowError(
                        f"{where}: member {member!r} is not a trained system/variant of the config"
                    )


check_run_configs()
