# Rules: frames, audio and transcripts per shard.


def preprocess_targets():
    """Final outputs of this file for `rule all`."""
    return []
