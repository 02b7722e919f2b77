"""http(s):// single-file downloads: redirects followed, any Content-Type, archives unpacked.

Upstream refused files not served as application/octet-stream (or a matching archive type);
GitHub release assets and many web servers send something else, so we trust the file name.
"""

from __future__ import annotations

import asyncio
import posixpath
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from kserve_server.storage import archive, transfer, uris
from kserve_server.storage.errors import StorageError
from kserve_server.storage.progress import Progress
from kserve_server.storage.settings import StorageSettings


def file_name(uri: str) -> str:
    """The URL path's last segment; for `.../download?path=/x/model.zip`, that query path's."""
    parts = urlsplit(uri)
    name = posixpath.basename(unquote(parts.path))
    if not name or "." not in name:
        for _, value in parse_qsl(parts.query):
            candidate = posixpath.basename(value)
            if archive.is_archive(candidate):
                return candidate
    if not name or name in (".", ".."):
        raise StorageError(f"no file name in {uris.redact(uri)}: the URL path must end in one")
    return name


async def download(uri: str, into: Path, *, settings: StorageSettings, progress: Progress) -> None:
    name = file_name(uri)
    host = urlsplit(uri).hostname or ""
    target = into / name
    async with transfer.session(settings) as client:
        await transfer.download(
            client,
            uri,
            target,
            shown=uris.redact(uri),
            headers=settings.http_headers.get(host, {}),
            progress=progress,
            settings=settings,
        )
    if archive.is_archive(name):
        await asyncio.to_thread(archive.unpack, target, into, limits=settings.unpack_limits())
