# Functions (input functions, targets, params) for the rules in workflow/rules/train.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.


def train_targets():
    """Final outputs of workflow/rules/train.smk for `rule all`."""
    return []
