"""Test-time conditions on the decoded media of a shard: occlusion, blur, low light, dropped frames,
additive noise, removed audio or text (docs/robustness.md).

``spec`` parses ``robustness.conditions`` into :class:`~emibench.robustness.spec.Condition` objects;
``vision``, ``audio`` and ``text`` hold the ops on one clip's frames, waveform or transcript;
``corrupt`` writes a condition's stores for one shard (``emibench corrupt``); ``oracle`` gives the
synthetic generator's ceiling under a condition.
"""
