# Functions (input functions, targets, params) for the rules in workflow/rules/dataset.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.


def dataset_targets():
    """Final outputs of workflow/rules/dataset.smk for `rule all`."""
    return []
