"""docs/own-system.md as written: its package installs, registers its model under the
entry-point group, and the model trains through the trainer like a built-in (the DAG run is in
test_workflow_e2e.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import yaml

from emibench.models.inputs import random_batch
from emibench.models.registry import build_model, resolve_model
from own_system_doc import blocks, install_package, write_package

DIMS = {"V": 12, "A": 10, "T": 8}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    site = root / "site"
    install_package(write_package(root), site)
    return site


def test_the_page_has_every_step():
    found = blocks()
    assert set(found["file"]) == {
        "my-emi-model/pyproject.toml",
        "my-emi-model/src/my_emi_model/__init__.py",
        "my-emi-model/src/my_emi_model/net.py",
    }
    assert set(found["config"]) == {"train.systems", "report.tables.systems.rows"}


def test_installed_entry_point_is_listed_with_its_keys(site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-m", "emibench.cli", "models", "gated_pool"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "gated_pool  (plugin: my_emi_model.net:GatedPool)" in out
    assert "keys: width=64, dropout=0.1" in out


def test_model_of_the_page_trains_on_every_subset(site, monkeypatch):
    monkeypatch.syspath_prepend(str(site))
    resolve_model.cache_clear()
    system = yaml.safe_load(blocks()["config"]["train.systems"])["my_system"]
    lengths = {"V": [9, 4, 0, 0], "A": [9, 0, 3, 0], "T": [5, 2, 0, 0]}
    for modalities in ("V", "AT", "VAT"):
        model = build_model(system["model"], DIMS, modalities)
        batch = random_batch({m: lengths[m] for m in modalities}, DIMS)
        out = model(batch)
        assert out["pred"].shape == (4, 6) and torch.isfinite(out["pred"]).all()
        has_any = torch.tensor([any(lengths[m][b] for m in modalities) for b in range(4)])
        weights = out["fusion_weights"]
        assert weights.shape == (4, 3)
        assert torch.allclose(weights.sum(1), has_any.float())
        out["pred"].sum().backward()
    with pytest.raises(KeyError, match=r"\['widht'\]"):
        build_model({"name": "gated_pool", "widht": 3}, DIMS, "V")
    resolve_model.cache_clear()
    assert json.dumps(system)  # plain data, as the config holds it
