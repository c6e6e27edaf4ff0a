import pytest

from emibench.model_source import ModelNotFoundError, resolve_model_source


def test_local_path_is_returned(tmp_path):
    assert resolve_model_source(str(tmp_path), "vision encoder") == str(tmp_path)


def test_absent_local_path_says_where_and_how(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"encoders.vision.*no such file.*Provide it"):
        resolve_model_source(str(tmp_path / "clip"), "vision encoder", "encoders.vision")


def test_uncached_hub_name_is_not_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="not in the hub cache"):
        resolve_model_source("facebook/wav2vec2-base-960h", "audio encoder")
    (tmp_path / "models--facebook--wav2vec2-base-960h" / "snapshots").mkdir(parents=True)
    assert (
        resolve_model_source("facebook/wav2vec2-base-960h", "audio encoder")
        == "facebook/wav2vec2-base-960h"
    )


def test_relative_workflow_path_counts_as_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFoundError, match="no such file"):
        resolve_model_source("results/models/clip", "vision encoder")
