# Rules: local models, feature extraction, Stage I.


def feature_targets():
    """Final outputs of this file for `rule all`."""
    return []
