"""Schema defaults reach every section, through $ref, and nothing given is overwritten; schema
errors come as a few lines each, naming the key path, the value and the rule."""

from pathlib import Path

import pytest
import yaml

from emibench.config_schema import MAX_ERRORS, ConfigSchemaError, check_config, fill_defaults
from workflow_commands import dry_run

SCHEMA = Path(__file__).resolve().parents[1] / "config/schema/config.schema.yaml"


def test_defaults_of_referenced_section_schemas_are_filled():
    config = fill_defaults({"dataset": {"source": "url", "root": "/data"}}, SCHEMA)
    assert config["dataset"]["download"] == {
        "archives": [],
        "user_env": "EMIBENCH_DATA_USER",
        "password_env": "EMIBENCH_DATA_PASSWORD",
        "credentials_over_http": False,
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


def _errors(config: dict) -> str:
    with pytest.raises(ConfigSchemaError) as caught:
        check_config(config, SCHEMA)
    return str(caught.value)


def _demo() -> dict:
    return yaml.safe_load((SCHEMA.parents[1] / "config.yaml").read_text())


def test_a_wrong_type_names_the_key_path_value_and_rule():
    config = _demo()
    config["shards"]["train"] = "four"
    message = _errors(config)
    assert "config key shards.train: 'four' is not of type integer" in message
    assert "config/schema/config.schema.yaml#/properties/shards/properties/train" in message
    assert len(message.splitlines()) == 4  # the count, then the error in three lines


def test_an_unknown_key_names_the_section_and_the_keys_it_takes():
    config = _demo()
    config["dataset"]["sorce"] = "url"
    message = _errors(config)
    assert "config key dataset: unknown key(s) 'sorce'; it takes name, source, root" in message
    assert "dataset.schema.yaml" in message and len(message.splitlines()) == 3


def test_a_bad_enum_value_in_a_referenced_file_names_the_key_path():
    config = _demo()
    config["train"]["systems"]["dscmn"]["variants"]["V_frozen"]["modalities"] = "XY"
    config["resources"]["device"] = "tpu"
    message = _errors(config)
    assert message.startswith("the config breaks its schema (2 error(s))")
    assert "config key resources.device: 'tpu' is not one of auto, cpu, cuda" in message
    assert (
        "config key train.systems.dscmn.variants.V_frozen.modalities: 'XY' is not one of V, A, T,"
        in message
    )
    assert "train.schema.yaml#/$defs/modalities" in message and len(message.splitlines()) == 7


@pytest.mark.parametrize("system", ["dscmn", "baseline_fusion", "late_fusion"])
@pytest.mark.parametrize("key", ["features", "modalities"])
def test_a_system_without_features_or_modalities_is_named(system, key):
    config = _demo()
    del config["train"]["systems"][system][key]
    message = _errors(config)
    assert f"config key train.systems.{system}: required key(s) '{key}' missing" in message
    assert message.startswith("the config breaks its schema (1 error(s))")


def test_many_errors_are_capped():
    config = _demo()
    config["train"]["seeds"] = [-1] * (MAX_ERRORS + 5)
    message = _errors(config)
    assert "config key train.seeds[0]: -1 is less than the minimum of 0" in message
    assert message.endswith("... and 5 more") and len(message.splitlines()) < 3 * MAX_ERRORS + 3


def test_a_snakemake_run_prints_the_short_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"resources": {"device": "tpu"}}))
    done = dry_run(SCHEMA.parents[1] / "config.yaml", bad)
    assert done.returncode != 0
    output = done.stderr + done.stdout
    assert "config key resources.device: 'tpu' is not one of auto, cpu, cuda" in output
    assert len(output.splitlines()) < 30 and "$defs" not in output.split("rule enum")[0]
