# Functions (input functions, targets, params) for the rules in workflow/rules/features.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.


def feature_targets():
    """Final outputs of workflow/rules/features.smk for `rule all`."""
    return []
