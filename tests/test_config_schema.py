"""Schema defaults reach every section, through $ref, and nothing given is overwritten."""

from pathlib import Path

import yaml

from emibench.config_schema import fill_defaults

SCHEMA = Path(__file__).resolve().parents[1] / "config/schema/config.schema.yaml"


def test_defaults_of_referenced_section_schemas_are_filled():
    config = fill_defaults({"dataset": {"source": "url", "root": "/data"}}, SCHEMA)
    assert config["dataset"]["download"] == {
        "archives": [],
        "user_env": "EMIBENCH_DATA_USER",
        "password_env": "EMIBENCH_DATA_PASSWORD",
    }
    assert config["dataset"]["root"] == "/data" and config["dataset"]["test_labels"] == "auto"
    assert config["preprocess"]["asr"]["vocabulary"] == "auto"
    assert config["preprocess"]["frames"]["face"]["margin"] == 0.25
    assert config["stage1"]["seeds"] == [0] and config["features"]["official_source"] == "auto"


def test_given_values_stay_and_list_items_get_their_defaults():
    rows = [{"key": "k", "label": "l", "system": "s", "variant": "v"}]
    config = {"report": {"split": "test", "tables": {"t": {"rows": rows}}}}
    fill_defaults(config, SCHEMA)
    assert config["report"]["split"] == "test"
    assert config["report"]["tables"]["t"]["rows"][0]["paper"] == []
    assert config["report"]["bootstrap"]["n_resamples"] == 1000


def test_variant_train_settings_get_no_defaults():
    """Variants layer over their system; a default filled into a variant would undo that."""
    system = {"model": {"name": "dscmn"}, "variants": {"V": {"modalities": "V"}}}
    config = fill_defaults({"train": {"systems": {"dscmn": system}}}, SCHEMA)
    assert config["train"]["systems"]["dscmn"]["variants"]["V"] == {"modalities": "V"}


def test_the_shipped_configs_are_complete_already():
    for name in ("config.yaml", "vidmimic2.yaml"):
        config = yaml.safe_load((SCHEMA.parents[1] / name).read_text())
        assert fill_defaults(config, SCHEMA)
