"""The feature sets a run can read (docs/features.md).

- ``official``: the organisers' ``vit/`` and ``wav2vec2/`` files, or the frozen baseline encoders
  where the dataset lacks them (the baselines' input).
- ``frozen``: the paper's encoders (``encoders.vision``, ``encoders.audio``, ``encoders.text``)
  without Stage I; what Stage I starts from.
- ``stage1``: the Stage I encoders with their projection heads ("ours" in Table 2).
"""

FEATURE_SETS: tuple[str, ...] = ("official", "frozen", "stage1")
