# Rules: download or synthesis of the raw data, layout check, manifest, Table 1.


def dataset_targets():
    """Final outputs of this file for `rule all`."""
    return []
