"""The plan: every job of the DAG as a typed spec, computed once per Snakemake invocation.

``Plan(config, paths)`` takes the validated config (defaults filled, ``auto`` keys resolved) and
the workflow's path patterns, and answers the workflow's input functions and params by look-up:
the feature jobs, the Stage I jobs, the train / stack / fuse jobs (every seed of a system and
variant), and each robustness condition's branch (the stores it changes, its feature jobs and its
predict job). docs/architecture.md shows the layers: config -> plan -> workflow -> CLI -> library.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from emibench.asr.settings import DEFAULT_SET, TranscriptSets
from emibench.emotions import SPLITS
from emibench.features.official import has_organiser
from emibench.features.sets import (
    ENCODER_KIND,
    JOINT,
    SET_ENCODERS,
    SET_MODALITIES,
    STAGE1_OBJECTIVES,
    STAGE1_PAIRS,
    STAGE1_PREFIX,
    STAGE1_TARGETS,
    featset_kind,
)
from emibench.modalities import MODALITY_NAMES
from emibench.plan.checks import check_cross_references, check_models
from emibench.plan.jobs import (
    ConditionRun,
    CorruptJob,
    FeatureJob,
    FeatureShard,
    PredictJob,
    RunJob,
    RunsJob,
    StoreFolder,
)
from emibench.plan.layout import layout_from
from emibench.plan.runs import StoreNeed, Variant, resolve_variants, run_needs, stage1_pairing
from emibench.robustness.spec import Condition, robustness_settings
from emibench.settings import ConfigError

# the Stage I pair whose checkpoint makes each store of a stage1 set (text: stage1.text_pair),
# where stage1.objective is pairs (joint: the joint checkpoint makes all three)
PAIR_OF_STORE = {store: pair for pair, store in STAGE1_PAIRS.items()}
# media store of a Stage I pair -> the media store files it reads
PAIR_MEDIA = {"visual": "frames", "audio": "audio"}
# media store -> (its clean pattern, the condition's pattern) in the workflow's PATHS
MEDIA = {
    "frames": ("frames", "condition_frames"),
    "audio": ("audio", "condition_audio"),
    "transcripts": ("transcript_shard", "condition_transcripts"),
}
RUN_FILES = (
    "metrics.json",
    "predictions_train.csv",
    "predictions_valid.csv",
    "predictions_test.csv",
)
# every file a job writes into each run folder, by system kind
OUTPUT_FILES = {
    "model": (
        *RUN_FILES,
        "fusion_weights_valid.csv",
        "fusion_weights_test.csv",
        "timing.json",
        "train_log.tsv",
        "model.pt",
        "log.txt",
    ),
    "fuse": (*RUN_FILES, "members.json"),
    "stack": (*RUN_FILES, "timing.json", "train_log.tsv", "model.pt"),
}


def _memo(method):
    """Remember a Plan method's answer per arguments (positional), on the instance."""
    name = f"_memo_{method.__name__}"

    @functools.wraps(method)
    def wrapper(self, *args):
        memo = self.__dict__.setdefault(name, {})
        if args not in memo:
            memo[args] = method(self, *args)
        return memo[args]

    return wrapper


class Plan:
    """Every job of a config; built once, then looked up (see the module docstring).

    ``check_models_now``: check every trained run's model config against its model (imports
    the models); ``model_checks``: a folder remembering the checks that passed
    (emibench.plan.checks.check_models).
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        paths: Mapping[str, str],
        check_models_now: bool = True,
        model_checks: str | None = None,
    ):
        self.config = config
        self.layout = layout_from(paths, config)
        self.root = config["dataset"]["root"]
        self.source = config["dataset"]["source"]
        self.test_labels = config["dataset"]["test_labels"]
        self.encoders = config["encoders"]
        self.seeds: list[int] = list(config["train"]["seeds"])
        self.stage1_seeds: list[int] = list(config["stage1"]["seeds"])
        self.stage1_jobs: list[str] = list(STAGE1_OBJECTIVES[config["stage1"]["objective"]])
        self.pairing = stage1_pairing(self.seeds, self.stage1_seeds)
        self.variants: dict[tuple[str, str], Variant] = resolve_variants(config)
        try:
            robustness = robustness_settings(config["robustness"])
        except ConfigError as err:
            raise ConfigError(f"config key {err}") from None
        self.conditions: dict[str, Condition] = robustness.parsed
        try:
            self.transcript_sets = TranscriptSets.from_config(
                config["preprocess"]["asr"], config["preprocess"].get("transcript_sets")
            )
        except ConfigError as err:
            raise ConfigError(f"config key {err}") from None
        self.robust_splits: list[str] = list(robustness.splits)
        self.robust_seed: int = robustness.seed
        if "test" in self.robust_splits and not self.test_labels:
            raise ConfigError(
                "config key robustness.splits: 'test' needs test labels (dataset.test_labels is empty)"
            )
        for v in self.variants.values():
            for need in run_needs(v, self.stage1_seeds[0]):
                self._check_need(v, need)
            tset = v.config.get("transcripts")
            if tset is not None and tset not in self.transcript_sets.sets:
                raise ConfigError(
                    f"config key {v.where}.transcripts: no transcript set {tset!r} "
                    f"(preprocess.transcript_sets has {sorted(self.transcript_sets.sets)})"
                )
        if check_models_now:
            check_models(self.variants, model_checks)
        check_cross_references(config, self.variants)

    # --- systems and runs -------------------------------------------------------------------

    def systems(self, kind: str) -> list[str]:
        """The systems of one kind (model, fuse, stack), in config order."""
        return list(dict.fromkeys(s for (s, _), v in self.variants.items() if v.kind == kind))

    def runs(self) -> list[tuple[str, str, int]]:
        """(system, variant, seed) of every run: trained first, then fused, then late fusion."""
        return [
            (s, v, seed)
            for kind in ("model", "fuse", "stack")
            for (s, v), var in self.variants.items()
            if var.kind == kind
            for seed in self.seeds
        ]

    def run_dir(self, system: str, variant: str, seed: int) -> str:
        return self.layout.path("run_dir", system=system, variant=variant, seed=seed)

    def run_files(self, kind: str) -> list[str]:
        """Every seed's output files of one (system, variant) job of ``kind``, with the system
        and variant wildcards left in place."""
        return [
            self.layout.path(
                "run_file", system="{system}", variant="{variant}", seed=seed, name=name
            )
            for seed in self.seeds
            for name in OUTPUT_FILES[kind]
        ]

    def metrics_files(self) -> list[str]:
        """metrics.json of every run."""
        return [os.path.join(self.run_dir(*run), "metrics.json") for run in self.runs()]

    @_memo
    def runs_job(self, system: str, variant: str) -> RunsJob:
        """The train, stack or fuse job of one (system, variant): every seed's run."""
        v = self.variants[system, variant]
        runs = [
            RunJob(
                system,
                variant,
                seed,
                self.run_dir(system, variant, seed),
                v.config,
                self.run_stores(v, seed),
                [self.run_dir(*m, seed) for m in v.members],
            )
            for seed in self.seeds
        ]
        return RunsJob(self.layout.path("manifest"), self.test_labels, runs)

    @_memo
    def runs_inputs(self, system: str, variant: str) -> list[str]:
        """What a train, stack or fuse job reads beyond the manifest and the test labels: every
        store of every seed, the members' metrics.json and the tiny encoders it trains."""
        job = self.runs_job(system, variant)
        stores = {p for run in job.runs for paths in run.stores.values() for p in paths}
        members = [os.path.join(m, "metrics.json") for run in job.runs for m in run.members]
        models = self.tiny_models_for(*self.variants[system, variant].encoder_keys)
        return sorted(stores) + members + models

    def submission_runs(self, system: str) -> list[str]:
        """metrics.json of the runs a system's submission chooses from."""
        chosen = self.config["train"]["systems"][system].get("submission_variant")
        return [
            os.path.join(self.run_dir(s, v, seed), "metrics.json")
            for s, v, seed in self.runs()
            if s == system and chosen in (None, v)
        ]

    def run_stores(
        self,
        variant: Variant,
        seed: int,
        condition: str | None = None,
        splits: list[str] | tuple[str, ...] = SPLITS,
    ) -> dict[str, list[str]]:
        """{store key: its files or store folders in ``splits``} of one run: under a robustness
        ``condition``, the condition's where it changes them."""
        return {
            need.key: self._need_paths(need, condition, splits)
            for need in run_needs(variant, self.pairing[seed])
        }

    def _need_paths(
        self, need: StoreNeed, condition: str | None, splits: list[str] | tuple[str, ...]
    ) -> list[str]:
        paths = []
        for split in splits:
            if need.featset:
                paths.append(self.feature_folder(need.featset, need.store, split, condition))
            elif need.media == "transcripts":
                paths += self.transcript_paths(need.tset, split, condition)
            else:
                paths += self.media_deps(need.media, split, condition)
        return paths

    def _check_need(self, variant: Variant, need: StoreNeed) -> None:
        if need.featset:
            kind = featset_kind(need.featset)
            if need.store not in SET_MODALITIES[kind]:
                raise ConfigError(
                    f"config {variant.where} reads the {need.store} store of feature set "
                    f"{kind}, made of {list(SET_MODALITIES[kind])} only; name the model's encoder "
                    "of that modality or another feature set"
                )

    # --- media, feature sets and Stage I ----------------------------------------------------

    def _swaps(self, store: str, split: str, condition: str | None) -> bool:
        return (
            condition is not None
            and split in self.robust_splits
            and store in self.conditions[condition].changed_media
        )

    def media_shards(self, store: str, split: str, condition: str | None = None) -> list[str]:
        """Every shard's file of a media store (frames, audio, transcripts) of ``split``: the
        condition's where it replaces the store."""
        clean, changed = MEDIA[store]
        if self._swaps(store, split, condition):
            return self.layout.per_shard(changed, split, condition=condition)
        return self.layout.per_shard(clean, split)

    def report_transcripts(self) -> dict[str, dict[str, str]]:
        """Every split's merged transcript table of every set a run reads ({set: {split: table}}),
        for the data report's check of clips without speech and of text that barely varies."""
        sets = {
            v.config.get("transcripts", DEFAULT_SET)
            for v in self.variants.values()
            if v.kind == "model" and "T" in v.config["modalities"]
        }
        return {
            tset: {split: self.transcript_paths(tset, split)[0] for split in SPLITS}
            for tset in self.transcript_sets.sets
            if tset in sets
        }

    def transcript_shards(self, tset: str, split: str) -> list[str]:
        """Every shard's transcript table of one transcript set and split."""
        if tset == DEFAULT_SET:
            return self.layout.per_shard("transcript_shard", split)
        return self.layout.per_shard("set_transcript_shard", split, tset=tset)

    def transcript_paths(self, tset: str, split: str, condition: str | None = None) -> list[str]:
        """What a run reads for the transcripts of a set and split: the merged table; under a
        condition that removes them, its folder; under an asr condition, the set's ASR on the
        condition's audio, shard by shard."""
        if not self._swaps("transcripts", split, condition):
            if tset == DEFAULT_SET:
                return [self.layout.path("transcripts", split=split)]
            return [self.layout.path("set_transcripts", tset=tset, split=split)]
        if tset == DEFAULT_SET or self.conditions[condition].text == "removed":
            return self.media_deps("transcripts", split, condition)
        return self.layout.per_shard(
            "condition_set_transcripts", split, condition=condition, tset=tset
        )

    def media_deps(self, store: str, split: str, condition: str | None = None) -> list[str]:
        """What a job depends on to read a media store of ``split``: the condition's folder
        where ``emibench corrupt`` writes it whole, else every shard's file."""
        if self._swaps(store, split, condition) and store in self.conditions[condition].corrupts:
            return [self.condition_media(condition, store, split)]
        return self.media_shards(store, split, condition)

    def condition_media(self, condition: str, store: str, split: str) -> str:
        """The folder of a media store that a condition corrupts (one job writes it whole)."""
        return self.layout.path(
            "condition_media_dir", condition=condition, store=store, split=split
        )

    @_memo
    def corrupt_job(self, condition: str, store: str, split: str) -> CorruptJob:
        """The job that writes a condition's media ``store`` of ``split``, shard by shard."""
        clean, changed = MEDIA[store]
        return CorruptJob(
            condition,
            self.conditions[condition].to_spec(),
            self.robust_seed,
            split,
            store,
            self.layout.shards(split),
            self.layout.per_shard(clean, split),
            StoreFolder(
                self.condition_media(condition, store, split),
                self.layout.per_shard(changed, split, condition=condition),
            ),
        )

    def feature_folder(
        self, featset: str, store: str, split: str, condition: str | None = None
    ) -> str:
        """The folder of one feature store of a split: the condition's where it changes it."""
        if (
            condition is not None
            and split in self.robust_splits
            and store in self.conditions[condition].changed_features
        ):
            return self.layout.path(
                "condition_feature_dir",
                condition=condition,
                featset=featset,
                modality=store,
                split=split,
            )
        return self.layout.path("feature_dir", featset=featset, modality=store, split=split)

    @cached_property
    def tiny_models(self) -> dict[str, str]:
        """The demo's tiny encoders (rule make_tiny_models) by role: their folders."""
        roles = self.encoders.get("tiny", {}).get("models", {})
        return {role: self.layout.path("local_models", role=role) for role in roles}

    def tiny_models_for(self, *keys: str) -> list[str]:
        """The tiny model folders that the encoders ``encoders.<key>`` name (none for hub models)."""
        wanted = {
            os.path.normpath(self.encoders[k].get("model_name", self.encoders[k].get("name", "")))
            for k in keys
        }
        return [p for p in self.tiny_models.values() if os.path.normpath(p) in wanted]

    def stage1_checkpoint(self, pair: str, seed: int) -> str:
        return self.layout.path("stage1_ckpt", pair=pair, seed=seed)

    @cached_property
    def stage1_projects_frozen(self) -> bool:
        """The stage1 set is the Stage I heads applied to the frozen set's stores: it stores the
        heads' outputs (``stage1.features: head``) of encoders Stage I left frozen
        (``train_layers: 0``, so they equal the frozen set's) through linear heads
        (``proj_hidden: 0``, so projecting pooled audio equals pooling projected frames)."""
        stage1 = self.config["stage1"]
        return (
            stage1["features"] == "head"
            and stage1["train_layers"] == 0
            and stage1["proj_hidden"] == 0
        )

    def stage1_job_of(self, store: str) -> str:
        """The Stage I job whose checkpoint makes ``store`` of a stage1 feature set."""
        if self.stage1_jobs == [JOINT]:
            return JOINT
        return PAIR_OF_STORE.get(store, self.config["stage1"]["text_pair"])

    @_memo
    def feature_job(
        self, featset: str, split: str, condition: str | None = None, store: str | None = None
    ) -> FeatureJob:
        """The features job of one set and split (every store the set is made of), or under a
        condition, of one store it changes."""
        kind = featset_kind(featset)
        stores = SET_MODALITIES[kind] if store is None else (store,)
        shards = [
            FeatureShard(
                shard,
                frames,
                audio if "audio" in stores else "",
                transcripts if "text" in stores else "",
            )
            for shard, frames, audio, transcripts in zip(
                self.layout.shards(split),
                self.media_shards("frames", split, condition),
                self.media_shards("audio", split, condition),
                self.media_shards("transcripts", split, condition),
            )
        ]
        outputs = {}
        for s in stores:
            folder = self.feature_folder(featset, s, split, condition)
            pattern = "condition_features" if condition is not None else "features"
            files = self.layout.per_shard(
                pattern, split, featset=featset, modality=s, condition=condition
            )
            outputs[s] = StoreFolder(folder, files)
        encoders, stage1, organiser, project = {}, {}, {}, {}
        if kind == "stage1":
            seed = int(featset.removeprefix(STAGE1_PREFIX))
            stage1 = {s: self.stage1_checkpoint(self.stage1_job_of(s), seed) for s in stores}
            if self.stage1_projects_frozen:
                project = {s: self.feature_folder("frozen", s, split, condition) for s in stores}
        else:
            encoders = {s: self.encoders[SET_ENCODERS[kind][s]] for s in stores}
        if kind == "official":
            organiser = {
                "root": self.root,
                "source": self.config["features"]["official_source"],
            }
        like = {}
        if condition is not None:
            like = {s: self.feature_folder(featset, s, split) for s in stores}
        return FeatureJob(
            featset,
            kind,
            split,
            self.layout.path("manifest"),
            shards,
            outputs,
            self.config["features"],
            encoders,
            stage1,
            organiser,
            self.config["stage1"]["features"],
            project,
            like,
        )

    @_memo
    def feature_inputs(
        self, featset: str, split: str, condition: str | None = None, store: str | None = None
    ) -> list[str]:
        """What a features job reads: the manifest, its shards' media, and its Stage I
        checkpoints or tiny encoders."""
        job = self.feature_job(featset, split, condition, store)
        if job.project:
            models = sorted(set(job.stage1.values()))
            return [job.manifest, *models, *job.project.values(), *job.like.values()]
        used = {
            "frames": True,
            "audio": "audio" in job.outputs,
            "transcripts": "text" in job.outputs,
        }
        media = [p for m, on in used.items() if on for p in self.media_deps(m, split, condition)]
        if job.stage1:
            models = sorted(set(job.stage1.values()))
        else:
            models = self.tiny_models_for(*(SET_ENCODERS[job.kind][s] for s in job.outputs))
        return [job.manifest, *media, *models, *job.like.values()]

    def stage1_inputs(self, job: str) -> dict[str, list[str] | str]:
        """A Stage I job's inputs: each split's frames and/or audio shards (``<split>_frames``,
        ``<split>_audio``: the media of the pairs it trains) and transcripts, its tiny models."""
        media = [STAGE1_PAIRS[pair] for pair in STAGE1_TARGETS[job]]
        inputs: dict[str, list[str] | str] = {
            "models": self.tiny_models_for(*(ENCODER_KIND[m] for m in media), "text")
        }
        for split in SPLITS:
            for m in media:
                inputs[f"{split}_{PAIR_MEDIA[m]}"] = self.media_shards(PAIR_MEDIA[m], split)
            inputs[f"{split}_transcripts"] = self.layout.path("transcripts", split=split)
        return inputs

    def stage1_encoders(self, job: str) -> dict[str, dict[str, Any]]:
        """{CLI option: encoder spec} of a Stage I job: its media encoders and the text encoder."""
        media = [STAGE1_PAIRS[pair] for pair in STAGE1_TARGETS[job]]
        options = {"visual": "vision_encoder", "audio": "audio_encoder"}
        specs = {options[m]: self.encoders[ENCODER_KIND[m]] for m in media}
        return {**specs, "text_encoder": self.encoders["text"]}

    # --- robustness conditions --------------------------------------------------------------

    def _organiser_store(self, store: str) -> bool:
        """True when the official set's ``store`` comes from the organisers' files: computed once
        from the clean videos, no condition can change them (auto: where the root has them)."""
        setting = self.config["features"]["official_source"]
        if store == "text" or setting == "encoders" or self.source == "synthetic":
            return False
        return setting == "organiser" or has_organiser(self.root, store)

    @_memo
    def not_evaluated(self, system: str, variant: str, condition: str) -> str | None:
        """Why a run is not evaluated under the condition, or None: it reads official features
        of a store the condition changes, and those are the organisers' files. A run built on
        members needs every member."""
        v = self.variants[system, variant]
        if v.members:
            reasons = [self.not_evaluated(*m, condition) for m in v.members]
            return next((r for r in reasons if r), None)
        if v.config["features"] != "official":
            return None
        changed = self.conditions[condition].changed_features
        fixed = [
            MODALITY_NAMES[m]
            for m in v.config["modalities"]
            if MODALITY_NAMES[m] in changed and self._organiser_store(MODALITY_NAMES[m])
        ]
        if not fixed:
            return None
        return (
            f"its {' and '.join(fixed)} features are the organisers' files, which {condition} "
            "cannot change"
        )

    def condition_dir(self, system: str, variant: str, seed: int, condition: str) -> str:
        return self.layout.path(
            "condition_run_dir", system=system, variant=variant, seed=seed, condition=condition
        )

    def condition_dirs(self, condition: str = "{condition}") -> list[str]:
        """Every run's output folder under a condition (the wildcard by default)."""
        return [self.condition_dir(*run, condition) for run in self.runs()]

    @_memo
    def predict_job(self, condition: str) -> PredictJob:
        """The condition's predict job: every trained run predicts, then every fused and
        late-fusion run combines its members' new predictions; runs the condition cannot change
        are written as not evaluated."""
        runs, groups = [], {}
        for system, variant, seed in self.runs():
            v = self.variants[system, variant]
            run_dir = self.run_dir(system, variant, seed)
            out_dir = self.condition_dir(system, variant, seed, condition)
            reason = self.not_evaluated(system, variant, condition)
            members = [self.condition_dir(*m, seed, condition) for m in v.members]
            if reason:
                runs.append(ConditionRun("skip", run_dir, out_dir, reason=reason))
            elif v.kind == "fuse":
                runs.append(ConditionRun("fuse", run_dir, out_dir, members=members))
            else:
                stores = self.run_stores(v, seed, condition, self.robust_splits)
                named = {
                    key: groups.setdefault(tuple(paths), f"g{len(groups)}")
                    for key, paths in stores.items()
                }
                runs.append(ConditionRun(v.kind, run_dir, out_dir, named, members))
        return PredictJob(
            condition,
            self.conditions[condition].to_spec(),
            self.robust_splits,
            self.layout.path("manifest"),
            self.test_labels,
            {name: list(paths) for paths, name in groups.items()},
            runs,
            self.layout.path("condition_results", condition=condition),
        )

    @_memo
    def predict_inputs(self, condition: str) -> list[str]:
        """What a condition's predict job reads: each evaluated trained or late-fusion run's
        model.pt and metrics.json, the others' metrics.json, and every store they read."""
        job = self.predict_job(condition)
        files = []
        for run in job.runs:
            names = ("model.pt", "metrics.json") if run.kind in ("model", "stack") else ()
            files += [os.path.join(run.run_dir, n) for n in names or ("metrics.json",)]
        stores = sorted({p for paths in job.stores.values() for p in paths})
        return [job.manifest, *files, *stores]

    def conditions_changing(self, store: str) -> list[str]:
        """Conditions that replace the media ``store`` (frames, audio, transcripts)."""
        return [c for c, cond in self.conditions.items() if store in cond.changed_media]

    def conditions_with_text(self, source: str) -> list[str]:
        """Conditions whose transcripts are ``removed`` or ``asr``."""
        return [c for c, cond in self.conditions.items() if cond.text == source]
