"""The registry's extension point: a model named by import path or registered by an installed
package (entry-point group ``emibench.models``), built from config keys like the built-ins, with
errors naming the model and the key."""

from __future__ import annotations

import textwrap

import pytest
import torch

from emibench.cli import main
from emibench.models.inputs import random_batch
from emibench.models.registry import (
    ENTRY_POINT_GROUP,
    MODELS,
    ModelConfigError,
    available_models,
    build_model,
    check_model_config,
    model_options,
    resolve_model,
)
from emibench.settings import ConfigError

DIMS = {"V": 12, "A": 10, "T": 8}

PLUGIN = """
import torch
from torch import nn

from emibench.models.inputs import MODALITIES
from emibench.models.pooling import masked_mean


class TinyNet(nn.Module):
    def __init__(self, dims, modalities=MODALITIES, width=4, scale=1.0):
        super().__init__()
        self.modalities = modalities
        self.proj = nn.ModuleDict({m: nn.Linear(dims[m], width) for m in modalities})
        self.head = nn.Linear(width, 6)
        self.scale = scale

    def forward(self, batch):
        h = sum(self.proj[m](masked_mean(batch.get(m).data, batch.get(m).mask)) for m in self.modalities)
        return {"pred": self.scale * self.head(h)}


class VisualOnly(TinyNet):
    modalities = ("V",)

    def __init__(self, dims, width: int):
        super().__init__(dims, ("V",), width)


class NoDims(nn.Module):
    def __init__(self, width=3):
        super().__init__()


def not_a_module(dims):
    return 42
"""


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A package ``plugpkg`` and its installed metadata (as ``pip install --target`` writes it),
    on sys.path; the registry's name cache is cleared before and after."""
    (tmp_path / "plugpkg").mkdir()
    (tmp_path / "plugpkg" / "__init__.py").write_text("")
    (tmp_path / "plugpkg" / "models.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "plugpkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugpkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntiny_net = plugpkg.models:TinyNet\n"
        "visual_only = plugpkg.models:VisualOnly\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    resolve_model.cache_clear()
    yield tmp_path
    resolve_model.cache_clear()


@pytest.mark.parametrize("name", ["plugpkg.models:TinyNet", "tiny_net"])
def test_plugin_builds_and_trains_like_a_builtin(plugin_dir, name):
    model = build_model({"name": name, "width": 5, "scale": 0.5}, DIMS, "VA")
    assert model.modalities == ("V", "A")
    batch = random_batch({"V": [3, 0], "A": [2, 4]}, DIMS)
    pred = model(batch)["pred"]
    assert pred.shape == (2, 6)
    pred.sum().backward()
    assert model_options(name) == {"width": 4, "scale": 1.0}


def test_entry_points_are_listed(plugin_dir, capsys):
    models = available_models()
    assert models["tiny_net"] == "plugpkg.models:TinyNet"
    assert set(MODELS) <= set(models)
    assert main(["models", "tiny_net", "plugpkg.models:TinyNet"]) == 0
    out = capsys.readouterr().out
    assert "tiny_net  (plugin: plugpkg.models:TinyNet)" in out and "width=4" in out


def test_plugin_errors_name_the_model_and_key(plugin_dir):
    with pytest.raises(KeyError, match=r"tiny_net.*unknown config key\(s\) \['widht'\]"):
        build_model({"name": "tiny_net", "widht": 3}, DIMS, "V")
    with pytest.raises(ModelConfigError, match=r"lacks required key\(s\) \['width'\]"):
        check_model_config({"name": "visual_only"}, "V")
    with pytest.raises(ValueError, match="reads modalities 'V'"):
        check_model_config({"name": "visual_only", "width": 2}, "VA")
    with pytest.raises(ConfigError, match="must take a 'dims' argument"):
        check_model_config({"name": "plugpkg.models:NoDims"}, "V")
    with pytest.raises(ConfigError, match="not a torch.nn.Module"):
        build_model({"name": "plugpkg.models:not_a_module"}, DIMS, "V")
    with pytest.raises(ConfigError, match="has no attribute 'Nope'"):
        check_model_config({"name": "plugpkg.models:Nope"}, "V")
    with pytest.raises(ConfigError, match="cannot import module 'nopkg.models'"):
        check_model_config({"name": "nopkg.models:Net"}, "V")
    with pytest.raises(KeyError, match=r"registered: \['tiny_net', 'visual_only'\]"):
        check_model_config({"name": "tiny_nett"}, "V")


def test_builtins_win_over_a_plugin_of_the_same_name(plugin_dir):
    info = plugin_dir / "plugpkg-0.1.dist-info" / "entry_points.txt"
    info.write_text(f"[{ENTRY_POINT_GROUP}]\ndscmn = plugpkg.models:TinyNet\n")
    assert available_models()["dscmn"] == MODELS["dscmn"]
    assert "d_model" in model_options("dscmn")


def test_builtins_resolve_through_import_paths():
    for name, path in MODELS.items():
        module, _, attr = path.partition(":")
        assert resolve_model(name).__name__ == attr and module.startswith("emibench.models.")
    assert isinstance(
        build_model({"name": "emibench.models.peers:ConcatMLP", "hidden": 4}, DIMS, "T"),
        torch.nn.Module,
    )
