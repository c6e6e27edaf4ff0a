"""Conditions parse from config, bad ones fail naming the key; the schema and the library agree."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from emibench.robustness.spec import (
    Condition,
    ConfigError,
    Noise,
    Occlude,
    parse_condition,
    robustness_settings,
)

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "config/schema/robustness.schema.yaml").read_text())
EXAMPLES = ("config/config.yaml", "config/vidmimic2.yaml")  # the demo and the real grid


def section(path):
    return yaml.safe_load((REPO / path).read_text())["robustness"]


@pytest.mark.parametrize("path", EXAMPLES)
def test_example_configs_validate_and_parse(path):
    cfg = section(path)
    jsonschema.validate(cfg, SCHEMA)
    settings = robustness_settings(cfg)
    assert settings.splits == ("valid",)
    assert set(settings.parsed) == set(cfg["conditions"])


def test_demo_conditions():
    parsed = robustness_settings(section(EXAMPLES[0])).parsed
    assert list(parsed) == ["occlusion50", "babble0db", "audio_removed", "text_removed"]
    assert parsed["occlusion50"].corrupts == ("frames",)
    assert parsed["babble0db"].corrupts == ("audio",)
    assert parsed["babble0db"].text == "clean"
    assert parsed["audio_removed"].corrupts == ("audio",)
    assert parsed["text_removed"].corrupts == ("transcripts",)
    assert parsed["text_removed"].text == "removed"


def test_demo_conditions_are_part_of_the_real_grid():
    """Snakemake merges --configfile config/vidmimic2.yaml into config/config.yaml: the demo's
    conditions must be real ones, with the same ops, or the real grid would gain them."""
    demo = robustness_settings(section(EXAMPLES[0])).parsed
    real = robustness_settings(section(EXAMPLES[1])).parsed
    for name, condition in demo.items():
        assert name in real and real[name].to_spec() == condition.to_spec(), name


def test_real_grid_holds_every_kind():
    parsed = robustness_settings(section(EXAMPLES[1])).parsed
    shares = sorted(
        c.op("occlude").params.share for c in parsed.values() if c.ops[0].name == "occlude"
    )
    assert shares == [0.25, 0.5, 0.5, 0.75, 1.0]  # occlusion50 and the combination
    assert parsed["asr_babble0db"].text == "asr"
    assert parsed["asr_babble0db"].corrupts == ("audio",)
    assert parsed["occlusion50_babble0db"].corrupts == ("frames", "audio")
    sources = {c.op("noise").params.source for c in parsed.values() if c.op("noise")}
    assert sources == {"babble", "pink"}
    for name in ("blur", "low_light", "frames_dropped50", "audio_removed", "text_removed"):
        assert name in parsed


def test_defaults_are_filled_and_spec_round_trips():
    condition = parse_condition("c", [{"op": "occlude"}, {"op": "noise", "snr_db": 5}])
    assert condition.ops[0].params == Occlude()
    assert condition.ops[1].params == Noise(snr_db=5, source="babble", talkers=4)
    again = parse_condition("c", condition.to_json())
    assert isinstance(again, Condition) and again == condition


@pytest.mark.parametrize(
    ("name", "ops", "message"),
    [
        ("Bad-Name", [{"op": "blur"}], "must match"),
        ("clean", [{"op": "blur"}], "reserved"),
        ("c", [], "non-empty list"),
        ("c", [{"share": 0.5}], "'op' key"),
        ("c", [{"op": "smudge"}], "unknown op 'smudge'"),
        (
            "c",
            [{"op": "occlude", "share": 1.5}],
            "conditions.c[0] (occlude): share must lie in (0, 1]",
        ),
        ("c", [{"op": "occlude", "share": "half"}], "share must be a number"),
        ("c", [{"op": "occlude", "region": "left"}], "region must be one of"),
        ("c", [{"op": "occlude", "sigma": 2}], "unknown key(s) ['sigma']"),
        ("c", [{"op": "blur", "sigma": 3}], "sigma must lie in (0, 0.5]"),
        ("c", [{"op": "noise"}], "snr_db"),
        ("c", [{"op": "noise", "snr_db": 0, "source": "grey"}], "source must be one of"),
        ("c", [{"op": "noise", "snr_db": 0, "talkers": 0}], "talkers must be a positive"),
        ("c", [{"op": "blur"}, {"op": "blur"}], "more than once"),
        ("c", [{"op": "noise", "snr_db": 0}, {"op": "remove_audio"}], "noise on removed audio"),
        ("c", [{"op": "asr"}], "leaves the audio clean"),
        ("c", [{"op": "remove_audio"}, {"op": "asr"}], "use remove_text"),
        ("c", [{"op": "noise", "snr_db": 0}, {"op": "asr"}, {"op": "remove_text"}], "keep one"),
        ("c", [{"op": "drop_frames", "share": 1}, {"op": "blur"}], "nothing to act on"),
    ],
)
def test_bad_conditions_name_the_key(name, ops, message):
    with pytest.raises(ConfigError) as err:
        parse_condition(name, ops)
    assert message in str(err.value)
    assert str(err.value).startswith("robustness.conditions.")


def test_bad_section_keys():
    with pytest.raises(ConfigError, match="robustness.splits"):
        robustness_settings({"splits": ["train"]})
    with pytest.raises(ConfigError, match="robustness.seed"):
        robustness_settings({"seed": -1})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['conditons'\]"):
        robustness_settings({"conditons": {}})
    with pytest.raises(ConfigError, match=r"robustness.conditions.x\[0\]"):
        robustness_settings({"conditions": {"x": [{"op": "blur", "sigma": -1}]}})


@pytest.mark.parametrize(
    "bad",
    [
        {"conditions": {"x": [{"op": "occlude", "sigma": 2}]}},
        {"conditions": {"x": [{"op": "noise"}]}},
        {"conditions": {"x": [{"op": "remove_text", "share": 1}]}},
        {"conditions": {"x": [{"op": "smudge"}]}},
        {"conditions": {"clean": [{"op": "blur"}]}},
        {"conditions": {"x": []}},
        {"splits": ["train"]},
    ],
)
def test_schema_rejects_what_the_library_rejects(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    with pytest.raises(ConfigError):
        robustness_settings(bad)


def test_schema_describes_every_op_parameter():
    import dataclasses

    from emibench.robustness.spec import OPS

    for name, cls in OPS.items():
        described = set(SCHEMA["$defs"].get(name, {}).get("properties", {"op": True})) - {"op"}
        assert described == {f.name for f in dataclasses.fields(cls)}, name


@pytest.mark.parametrize("path", EXAMPLES)
def test_validation_and_defaults_leave_the_ops_as_written(path):
    """The workflow validates (check_config), then fills schema defaults (fill_defaults): no op
    may receive another op's keys."""
    from emibench.config_schema import check_config, fill_defaults

    schema = REPO / "config/schema/robustness.schema.yaml"
    cfg = section(path)
    before = yaml.safe_dump(cfg)
    check_config(cfg, schema)
    fill_defaults(cfg, schema)
    assert yaml.safe_dump(cfg) == before
    empty = {}
    check_config(empty, schema)
    fill_defaults(empty, schema)
    assert empty == {"seed": 0, "splits": ["valid"], "conditions": {}}
