"""Fetching and unpacking the organisers' archives into a dataset root.

Each archive has a ``url`` (``https://...``, ``http://...``, ``file://...`` or a local path), an
optional ``sha256`` and an optional ``dest`` (a subfolder of the root to unpack into).

Credentials: HTTP basic auth from the environment variables named in the config, when they are
set, sent only to the archive URL's own scheme, host and port, and only over HTTPS unless
``credentials_over_http`` is set. A redirect elsewhere (another host or port, or HTTPS to HTTP)
is followed without them; urllib's redirect handler never copies them.

Downloads go to ``<root>/.downloads/`` under the archive's identity: ``<sha256>-<name>`` when a
checksum is given, else ``url-<hash of the URL>-<name>``, so two archives with the same file name
never share a file. A download is verified before it is reused; one that fails its checksum is
removed. Local archives are read in place (and never removed). Zip and tar (gz, bz2, xz) archives
are unpacked into a temporary folder beside the root, member paths confined to it (tar with the
``data`` filter), and moved into place only when complete; a ``.done`` marker named like the
download records what was unpacked where, so a rerun does not unpack again.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

log = logging.getLogger(__name__)

DOWNLOADS = ".downloads"
CHUNK = 1 << 20
DEFAULT_PORTS = {"http": 80, "https": 443}


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


def archive_name(url: str) -> str:
    """The archive's file name: the URL's last path segment (``archive`` when it has none)."""
    return Path(urllib.parse.urlparse(url).path).name or "archive"


def archive_key(url: str, sha256: str | None = None) -> str:
    """The archive's identity, naming its download and its ``.done`` marker: ``<sha256>-<name>``
    when a checksum is given, else ``url-<first 16 hex digits of sha256(url)>-<name>``."""
    if sha256:
        return f"{sha256.strip().lower()}-{archive_name(url)}"
    return f"url-{hashlib.sha256(url.encode()).hexdigest()[:16]}-{archive_name(url)}"


def _local_path(url: str) -> Path | None:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if not parsed.scheme or (len(parsed.scheme) == 1 and os.name == "nt"):  # C:\... on Windows
        return Path(url)
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = urllib.parse.urlparse(url)
    scheme = parsed.scheme.lower()
    return scheme, (parsed.hostname or "").lower(), parsed.port or DEFAULT_PORTS.get(scheme)


class _CredentialsForOrigin(urllib.request.BaseHandler):
    """Adds the basic-auth header to requests for one origin (scheme, host, port) only.

    Every request urllib opens, the redirected ones included, passes through here; the header is
    added as an *unredirected* one, which urllib's redirect handler does not copy, so a redirect
    to another origin carries no credentials.
    """

    handler_order = 400  # before the HTTP(S) handlers send the request

    def __init__(self, origin: tuple[str, str, int | None], token: str):
        self.origin, self.token = origin, token

    def http_request(self, request: urllib.request.Request) -> urllib.request.Request:
        if _origin(request.full_url) == self.origin:
            request.add_unredirected_header("Authorization", f"Basic {self.token}")
        else:
            request.remove_header("Authorization")
        return request

    https_request = http_request


def _opener(
    url: str, user_env: str, password_env: str, credentials_over_http: bool
) -> tuple[urllib.request.OpenerDirector, str]:
    """An opener that sends the configured credentials to ``url``'s origin alone, and a hint for
    error messages (which variables, or why they were not sent)."""
    user = os.environ.get(user_env, "") if user_env else ""
    password = os.environ.get(password_env, "") if password_env else ""
    hint = f" (credentials from ${user_env} / ${password_env})" if user_env else ""
    if not (user or password):
        return urllib.request.build_opener(), hint
    origin = _origin(url)
    if origin[0] != "https" and not credentials_over_http:
        log.warning(
            "archive %s: credentials from $%s / $%s not sent over plain http "
            "(dataset.download.credentials_over_http: true sends them)",
            url,
            user_env,
            password_env,
        )
        hint = (
            f" (credentials from ${user_env} / ${password_env} were not sent over plain http; "
            "use https, or set dataset.download.credentials_over_http: true)"
        )
        return urllib.request.build_opener(), hint
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return urllib.request.build_opener(_CredentialsForOrigin(origin, token)), hint


def fetch(
    url: str,
    folder: Path,
    user_env: str = "",
    password_env: str = "",
    sha256: str | None = None,
    credentials_over_http: bool = False,
) -> Path:
    """The archive's local path: a local file as is (verified when ``sha256`` is given), an
    HTTP(S) one downloaded into ``folder`` as :func:`archive_key` and verified; a download that
    fails its checksum is removed (an earlier one is then fetched again once)."""
    name = archive_name(url)
    local = _local_path(url)
    if local is not None:
        if not local.is_file():
            raise DownloadError(f"archive {url}: no such file")
        verify(local, sha256, name)
        return local
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise DownloadError(f"archive {url}: unsupported scheme {parsed.scheme!r}")
    if parsed.username is not None or parsed.password is not None:
        raise DownloadError(
            f"archive {name} on {parsed.hostname}: the url holds credentials (user:password@), "
            "which would land in configs and logs; put them in the environment variables "
            "that dataset.download.user_env and password_env name"
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / archive_key(url, sha256)
    if target.exists():
        try:
            verify(target, sha256, name)
            log.info("archive %s: already downloaded to %s", url, target)
            return target
        except DownloadError as exc:
            log.warning("%s; removing it and downloading again", exc)
            target.unlink()
    opener, hint = _opener(url, user_env, password_env, credentials_over_http)
    partial = target.with_name(target.name + ".partial")
    try:
        with opener.open(url, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=name, mininterval=5) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
    except OSError as exc:  # URLError, HTTPError and socket errors are OSErrors
        partial.unlink(missing_ok=True)
        raise DownloadError(f"archive {url}: download failed: {exc}{hint}") from exc
    try:
        verify(partial, sha256, name)
    except DownloadError:
        partial.unlink()
        raise
    partial.rename(target)
    return target


def _inside(base: Path, member: str) -> bool:
    target = (base / member).resolve()
    return target == base or base in target.parents


def _extract(archive: Path, into: Path, name: str) -> None:
    """Unpack a zip or tar archive into the empty folder ``into``, members confined to it."""
    base = into.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            bad = [m for m in zf.namelist() if not _inside(base, m)]
            if bad:
                raise DownloadError(
                    f"archive {name}: member {bad[0]!r} would land outside its root"
                )
            zf.extractall(into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            bad = [m.name for m in tf.getmembers() if not _inside(base, m.name)]
            if bad:
                raise DownloadError(
                    f"archive {name}: member {bad[0]!r} would land outside its root"
                )
            try:
                tf.extractall(into, filter="data")
            except tarfile.FilterError as exc:
                member = exc.tarinfo.name if exc.tarinfo is not None else "?"
                raise DownloadError(f"archive {name}: member {member!r} refused: {exc}") from None
    else:
        raise DownloadError(f"archive {name}: {archive} is neither a zip nor a tar archive")


def _move_into(source: Path, target: Path, name: str) -> None:
    """Move the tree ``source`` into ``target``: folders merge, files replace theirs."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        dest = target / entry.name
        entry_is_dir = entry.is_dir() and not entry.is_symlink()
        dest_is_dir = dest.is_dir() and not dest.is_symlink()
        if entry_is_dir and dest_is_dir:
            _move_into(entry, dest, name)
        elif entry_is_dir != dest_is_dir and (dest.exists() or dest.is_symlink()):
            kind = "folder" if entry_is_dir else "file"
            raise DownloadError(f"archive {name}: its {kind} {dest} would replace what is there")
        else:
            shutil.move(entry, dest)


def unpack(archive: Path, root: Path, dest: str, name: str) -> None:
    """Unpack a zip or tar archive into ``root / dest``: first into a temporary folder in the
    root's parent (``.<root name>.unpack-*``), moved into place only when the whole archive is
    out, so a failed unpack leaves the root as it was."""
    target, whole = root / dest, root.resolve()
    if not _inside(whole, dest):
        raise DownloadError(f"archive {name}: dest {dest!r} lies outside the root {root}")
    whole.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{whole.name}.unpack-", dir=whole.parent))
    try:
        _extract(archive, staging, name)
        _move_into(staging, target, name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("archive %s: unpacked into %s", name, target)


def download_archives(
    root: str | Path,
    archives: list[dict[str, Any]],
    user_env: str = "",
    password_env: str = "",
    credentials_over_http: bool = False,
) -> list[Path]:
    """Fetch, verify and unpack every archive into ``root``; returns the local archive paths.

    An archive whose ``.done`` marker (``<root>/.downloads/<archive_key>.done``) records the same
    file, size, checksum and destination is not unpacked again.
    """
    root = Path(root)
    folder = root / DOWNLOADS
    paths = []
    for spec in archives:
        url, sha256, dest = spec["url"], spec.get("sha256"), spec.get("dest", "")
        name = archive_name(url)
        path = fetch(url, folder, user_env, password_env, sha256, credentials_over_http)
        marker = folder / f"{archive_key(url, sha256)}.done"
        stamp = f"{path.name} {path.stat().st_size} {sha256 or ''} {dest}"
        if marker.exists() and marker.read_text() == stamp:
            log.info("archive %s: already unpacked", name)
        else:
            unpack(path, root, dest, name)
            folder.mkdir(parents=True, exist_ok=True)
            marker.write_text(stamp)
        paths.append(path)
    if not archives:
        log.info("no archives configured; checking %s as it is", root)
    return paths
