# Functions (input functions, targets, params) for the rules in workflow/rules/train.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.
# A system either trains a model (`model`) or averages other runs (`fuse`); see docs/models.md.
# One job per (system, variant) trains or fuses every seed of train.seeds, each into its own run
# folder (one Python and torch start-up per job instead of per run).

import os

TRAIN = config["train"]
SYSTEMS = TRAIN["systems"]
SEEDS = TRAIN["seeds"]
STORE_OF = {"V": "visual", "A": "audio", "T": "text"}

PATHS["run_file"] = f"{PATHS['run_dir']}/{{name}}"
PATHS["submission_info"] = f"{R}/submission/{{system}}.json"
RUN_FILES = [
    "metrics.json",
    "predictions_train.csv",
    "predictions_valid.csv",
    "predictions_test.csv",
]
TRAINED_FILES = [*RUN_FILES, "train_log.tsv", "model.pt", "log.txt"]
FUSED_FILES = [*RUN_FILES, "members.json"]


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


TRAINED = [s for s in SYSTEMS if not is_fusion(s)]
FUSED = [s for s in SYSTEMS if is_fusion(s)]


def one_of(names):
    """A wildcard constraint matching exactly ``names`` (nothing when empty)."""
    return "|".join(names) if names else "(?!)"


def run_config(system, variant):
    """A run's resolved config: the system's keys overridden by the variant's."""
    own = SYSTEMS[system]["variants"][variant] or {}
    base = SYSTEMS[system]
    resolved = {
        "features": own.get("features", base.get("features")),
        "modalities": own.get("modalities", base.get("modalities")),
    }
    if is_fusion(system):
        resolved["fuse"] = own.get("fuse", base["fuse"])
        return resolved
    resolved["model"] = {**base.get("model", {}), **own.get("model", {})}
    resolved["train"] = {
        **TRAIN["defaults"],
        **base.get("train", {}),
        **own.get("train", {}),
    }
    return resolved


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
    """{modality letter: every shard of ``splits`` of its store} of one run; under a robustness
    ``condition``, the condition's stores where it changes them (robustness.smk)."""
    cfg = run_config(system, variant)
    featset = featset_dir(cfg["features"], seed)
    return {
        m: feature_shards(featset, STORE_OF[m], condition, splits)
        for m in cfg["modalities"]
    }


def train_inputs(wildcards):
    """Input function: every store that some seed of the job reads."""
    paths = {
        path
        for seed in SEEDS
        for stores in run_stores(wildcards.system, wildcards.variant, seed).values()
        for path in stores
    }
    return sorted(paths)


def stores_option(wildcards):
    """``--stores SEED MODALITY path ...`` for every seed and modality of the job."""
    return " ".join(
        f"--stores {seed} {modality} {' '.join(paths)}"
        for seed in SEEDS
        for modality, paths in run_stores(
            wildcards.system, wildcards.variant, seed
        ).items()
    )


def fusion_members(wildcards):
    """Input function: the metrics.json of each member run, every seed."""
    members = run_config(wildcards.system, wildcards.variant)["fuse"]
    return [
        PATHS["run_metrics"].format(system=s, variant=v, seed=seed)
        for seed in SEEDS
        for s, v in (m.split("/", 1) for m in members)
    ]


def members_option(wildcards):
    """``--members SEED run_dir ...`` for every seed: the member runs of that seed."""
    members = run_config(wildcards.system, wildcards.variant)["fuse"]
    return " ".join(
        f"--members {seed} "
        + " ".join(
            PATHS["run_dir"].format(system=s, variant=v, seed=seed)
            for s, v in (m.split("/", 1) for m in members)
        )
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
