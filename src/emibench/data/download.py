"""Fetching and unpacking the organisers' archives into a dataset root.

Each archive has a ``url`` (``https://...``, ``http://...``, ``file://...`` or a local path), an
optional ``sha256`` and an optional ``dest`` (a subfolder of the root to unpack into). HTTP(S)
downloads use basic auth from the environment variables named in the config, when they are set;
they go to ``<root>/.downloads/`` and are reused when already complete. Local archives are read in
place. A checksum mismatch is an error naming the archive. Zip and tar (gz, bz2, xz) archives are
unpacked with member paths confined to the target folder.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import tarfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

log = logging.getLogger(__name__)

DOWNLOADS = ".downloads"
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """An archive could not be fetched, verified or unpacked (names the archive)."""


def sha256sum(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str | None, name: str) -> None:
    """Raise DownloadError when ``path``'s sha256 is not ``expected`` (skipped when not given)."""
    if not expected:
        return
    actual = sha256sum(path)
    if actual.lower() != expected.strip().lower():
        raise DownloadError(
            f"archive {name}: sha256 mismatch: expected {expected}, got {actual} ({path})"
        )
    log.info("archive %s: sha256 ok", name)


def _local_path(url: str) -> Path | None:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if not parsed.scheme or (len(parsed.scheme) == 1 and os.name == "nt"):  # C:\... on Windows
        return Path(url)
    return None


def fetch(url: str, folder: Path, user_env: str = "", password_env: str = "") -> Path:
    """The archive's local path: a local file as is, an HTTP(S) one downloaded into ``folder``."""
    local = _local_path(url)
    if local is not None:
        if not local.is_file():
            raise DownloadError(f"archive {url}: no such file")
        return local
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise DownloadError(f"archive {url}: unsupported scheme {parsed.scheme!r}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (Path(parsed.path).name or "archive")
    if target.exists():
        log.info("archive %s: already downloaded to %s", url, target)
        return target
    request = urllib.request.Request(url)
    user = os.environ.get(user_env, "") if user_env else ""
    password = os.environ.get(password_env, "") if password_env else ""
    if user or password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    partial = target.with_name(target.name + ".partial")
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=target.name, mininterval=5
            ) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
    except OSError as exc:  # URLError, HTTPError and socket errors are OSErrors
        partial.unlink(missing_ok=True)
        hint = f" (credentials from ${user_env} / ${password_env})" if user_env else ""
        raise DownloadError(f"archive {url}: download failed: {exc}{hint}") from exc
    partial.rename(target)
    return target


def _inside(base: Path, member: str) -> bool:
    target = (base / member).resolve()
    return target == base or base in target.parents


def unpack(archive: Path, target: Path, name: str) -> None:
    """Unpack a zip or tar archive into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    base = target.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            bad = [m for m in zf.namelist() if not _inside(base, m)]
            if bad:
                raise DownloadError(
                    f"archive {name}: member {bad[0]!r} would land outside {target}"
                )
            zf.extractall(target)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            bad = [m.name for m in tf.getmembers() if not _inside(base, m.name)]
            if bad:
                raise DownloadError(
                    f"archive {name}: member {bad[0]!r} would land outside {target}"
                )
            tf.extractall(target, filter="data")
    else:
        raise DownloadError(f"archive {name}: {archive} is neither a zip nor a tar archive")
    log.info("archive %s: unpacked into %s", name, target)


def download_archives(
    root: str | Path, archives: list[dict[str, Any]], user_env: str = "", password_env: str = ""
) -> list[Path]:
    """Fetch, verify and unpack every archive into ``root``; returns the local archive paths.

    An archive whose ``.done`` marker (in ``<root>/.downloads``) records the same checksum is not
    unpacked again.
    """
    root = Path(root)
    folder = root / DOWNLOADS
    paths = []
    for spec in archives:
        url = spec["url"]
        name = Path(urllib.parse.urlparse(url).path).name or url
        path = fetch(url, folder, user_env, password_env)
        verify(path, spec.get("sha256"), name)
        marker = folder / f"{name}.done"
        stamp = f"{path.stat().st_size} {spec.get('sha256', '')}"
        if marker.exists() and marker.read_text() == stamp:
            log.info("archive %s: already unpacked", name)
        else:
            unpack(path, root / spec.get("dest", ""), name)
            folder.mkdir(parents=True, exist_ok=True)
            marker.write_text(stamp)
        paths.append(path)
    if not archives:
        log.info("no archives configured; checking %s as it is", root)
    return paths
