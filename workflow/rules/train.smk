# Rules: Stage II runs, baseline fusion, submissions.


def train_targets():
    """Final outputs of this file for `rule all`."""
    return []
