"""The preprocess schema's defaults are the settings classes' defaults; both configs build settings."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from emibench.asr.settings import AsrSettings
from emibench.media.audio import AudioSettings
from emibench.media.face_crop import FaceSettings
from emibench.media.frames import FrameSettings
from emibench.settings import settings_from

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "config/schema/preprocess.schema.yaml").read_text())


def schema_defaults(section):
    return {
        k: v["default"]
        for k, v in section["properties"].items()
        if not isinstance(v["default"], dict)
    }


@pytest.mark.parametrize(
    ("cls", "path"),
    [
        (FrameSettings, ["frames"]),
        (FaceSettings, ["frames", "face"]),
        (AudioSettings, ["audio"]),
        (AsrSettings, ["asr"]),
    ],
)
def test_schema_defaults_match_the_settings(cls, path):
    section = SCHEMA
    for key in path:
        section = section["properties"][key]
    defaults = {
        f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
    }
    assert schema_defaults(section) == defaults
    assert set(section["properties"]) == {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("config", ["config/config.yaml", "config/vidmimic2.yaml"])
def test_shipped_configs_build_settings(config):
    section = yaml.safe_load((REPO / config).read_text())["preprocess"]
    for cls, key in ((FrameSettings, "frames"), (AudioSettings, "audio"), (AsrSettings, "asr")):
        settings = settings_from(cls, section[key], f"preprocess.{key}")
        for name, value in section[key].items():
            got = getattr(settings, name)
            got = dataclasses.asdict(got) if dataclasses.is_dataclass(got) else got
            assert got == value, f"{config} preprocess.{key}.{name}"
