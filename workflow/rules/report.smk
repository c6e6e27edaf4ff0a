# Rules: collect, tables, figures, report.


def report_targets():
    """Final outputs of this file for `rule all`."""
    return []
