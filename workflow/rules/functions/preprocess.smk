# Functions (input functions, targets, params) for the rules in workflow/rules/preprocess.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.


def preprocess_targets():
    """Final outputs of workflow/rules/preprocess.smk for `rule all`."""
    return []
