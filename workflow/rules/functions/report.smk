# Functions (input functions, targets, params) for the rules in workflow/rules/report.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.


def report_targets():
    """Final outputs of workflow/rules/report.smk for `rule all`."""
    return []
