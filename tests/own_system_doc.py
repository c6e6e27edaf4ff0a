"""The walk-through of docs/own-system.md as data: its files and config additions, so the tests
follow the page as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

DOC = Path(__file__).resolve().parents[1] / "docs" / "own-system.md"
BLOCK = re.compile(r"```\w*\n# (file|config): (\S+)\n(.*?)```", re.DOTALL)


def blocks() -> dict[str, dict[str, str]]:
    """``{"file": {path: text}, "config": {dotted key: yaml text}}`` from the page."""
    found: dict[str, dict[str, str]] = {"file": {}, "config": {}}
    for kind, where, body in BLOCK.findall(DOC.read_text()):
        found[kind][where] = body
    return found


def write_package(root: Path) -> Path:
    """Write the page's files under ``root``; return the package folder (my-emi-model)."""
    files = blocks()["file"]
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / Path(next(iter(files))).parts[0]


def install_package(package: Path, site: Path) -> None:
    """``pip install`` the package into ``site`` (offline, no dependencies), so its entry points
    are found by anything that has ``site`` on PYTHONPATH."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
        + ["--no-build-isolation", "--target", str(site), str(package)],
        check=True,
        capture_output=True,
        text=True,
    )


def add_to_config(config_path: Path) -> dict:
    """Add the page's config snippets to the config file at ``config_path`` (as a user would
    edit it); return the added system's section."""
    config = yaml.safe_load(config_path.read_text())
    snippets = blocks()["config"]
    systems = yaml.safe_load(snippets["train.systems"])
    config["train"]["systems"].update(systems)
    config["report"]["tables"]["systems"]["rows"] += yaml.safe_load(
        snippets["report.tables.systems.rows"]
    )
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return systems
