"""Where a model comes from: a local path, or a hub name that must already be in the local cache.

Nothing is ever downloaded at run time. Loading code passes the configured name through
``resolve_model_source`` first, so an absent model fails with a message that says where it was
looked for and how to provide it.
"""

from __future__ import annotations

import os
from pathlib import Path

HOW_TO_PROVIDE = (
    "Provide it as a local directory or file (set the config key to its path), or put the hub "
    "model into the Hugging Face cache beforehand on a machine with internet "
    "(`huggingface-cli download {name}`) and copy the cache (HF_HOME) here."
)


class ModelNotFoundError(FileNotFoundError):
    """A configured model is neither a local path nor in the local hub cache."""


def is_local(name_or_path: str) -> bool:
    """A path (absolute, relative with 2+ parts, or existing), as opposed to an ``org/name`` hub id."""
    return (
        name_or_path.startswith(("/", ".", "~"))
        or name_or_path.count("/") > 1
        or Path(name_or_path).exists()
    )


def resolve_model_source(name_or_path: str, what: str, config_key: str = "") -> str:
    """Return a local path, or the hub name when its files are in the local hub cache.

    ``what`` names the model's role in messages (``"vision encoder"``); ``config_key`` the config
    key that set it.
    """
    where = f" (config key {config_key})" if config_key else ""
    if is_local(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.exists():
            raise ModelNotFoundError(
                f"{what} {name_or_path!r}{where}: no such file or directory {path.resolve()}. "
                + HOW_TO_PROVIDE.format(name=name_or_path)
            )
        return str(path)
    if not name_or_path:
        raise ModelNotFoundError(f"{what}{where}: empty model name")
    cache = _hub_cache_dir(name_or_path)
    if cache is None:
        raise ModelNotFoundError(
            f"{what} {name_or_path!r}{where}: not a local path and not in the hub cache "
            f"({_hub_cache_root()}); downloads are disabled. "
            + HOW_TO_PROVIDE.format(name=name_or_path)
        )
    return name_or_path


def _hub_cache_root() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return home / "hub"


def _hub_cache_dir(repo_id: str) -> Path | None:
    folder = _hub_cache_root() / ("models--" + repo_id.replace("/", "--"))
    return folder if (folder / "snapshots").is_dir() else None
