# emibench: raw videos -> manifest -> frames/audio/transcripts -> features -> Stage I ->
# Stage II runs (every system, variant, seed) -> robustness conditions -> tables, figures, report.
# Default config: the embedded synthetic dataset on the CPU; real data: --configfile config/vidmimic2.yaml


configfile: "config/config.yaml"


wildcard_constraints:
    split="train|valid|test",
    shard=r"\d{2,4}",
    seed=r"\d+",


include: "workflow/rules/common.smk"
include: "workflow/rules/functions/dataset.smk"
include: "workflow/rules/functions/preprocess.smk"
include: "workflow/rules/functions/features.smk"
include: "workflow/rules/functions/train.smk"
include: "workflow/rules/functions/robustness.smk"
include: "workflow/rules/functions/report.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        dataset_targets(),
        preprocess_targets(),
        feature_targets(),
        train_targets(),
        robustness_targets(),
        report_targets(),


onerror:
    for note in explain_failures(log):
        print(note, file=sys.stderr)
