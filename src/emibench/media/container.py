"""Opening media files with PyAV, and the error for media that cannot be used."""

from __future__ import annotations

from pathlib import Path

import av


class MediaError(RuntimeError):
    """A clip's media cannot be opened or holds nothing decodable of the wanted kind."""


def open_media(path: str | Path) -> av.container.InputContainer:
    """Open ``path`` for decoding; a missing or unreadable file raises ``MediaError`` naming it."""
    if not Path(path).is_file():
        raise MediaError(f"no such file: {path}")
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError) as err:
        raise MediaError(f"cannot open {path}: {err}") from err
