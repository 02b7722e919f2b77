"""The storage initializer: fetch a model by URI into a directory, whole or not at all.

Stands alone (its own image): imports nothing else of kserve_server, never aiohttp.web.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kserve_server.storage import archive, local, placement, schemes, uris
from kserve_server.storage.errors import NotFoundError, StorageError, UnsupportedError
from kserve_server.storage.progress import Progress
from kserve_server.storage.settings import StorageSettings

log = logging.getLogger(__name__)


async def fetch(uri: str, dest: Path, *, settings: StorageSettings) -> None:
    """Download `uri` so that `dest` holds the model; raise StorageError with a reason."""
    shown = uris.redact(uri)
    scheme = uris.scheme_of(uri)
    if scheme == "pvc":
        # In the cluster the controller mounts the claim at /mnt/models: nothing to fetch.
        log.info("%s is a volume the controller mounts at %s; nothing to download", shown, dest)
        return
    if uri.startswith("/mnt/models"):
        log.info("%s is already mounted; nothing to download", uri)
        return
    _refuse_unsupported(uri)
    staging = placement.stage(dest)
    progress = Progress(shown, interval=settings.progress_interval)
    log.info("downloading %s to %s", shown, dest)
    try:
        await _download(uri, staging, scheme=scheme, settings=settings, progress=progress)
        files = placement.files_under(staging)
        if not files:
            raise NotFoundError(f"no model found at {shown}")
        if scheme in ("", "file"):
            progress.add(sum(f.stat().st_size for f in files))
        if scheme not in ("http", "https", "hf") and len(files) == 1:
            only = files[0]
            if archive.is_archive(only.name):  # upstream: a lone archive is unpacked
                await asyncio.to_thread(
                    archive.unpack, only, staging, limits=settings.unpack_limits()
                )
        progress.finish()
        placement.commit(staging, dest)
    finally:
        placement.discard(staging)
    log.info("model from %s is ready in %s", shown, dest)


def _refuse_unsupported(uri: str) -> None:
    reason = schemes.unsupported_reason(uri)
    if reason is not None:
        raise UnsupportedError(f"cannot fetch {uris.redact(uri)}: {reason}")


async def _download(
    uri: str, into: Path, *, scheme: str, settings: StorageSettings, progress: Progress
) -> None:
    # Fetchers are imported on use: boto3 alone costs the init container a second to import.
    if scheme in ("", "file"):
        await asyncio.to_thread(local.copy, uri, into)
    elif scheme == "gs":
        from kserve_server.storage import gcs

        await gcs.download(uri, into, settings=settings, progress=progress)
    elif scheme == "s3":
        from kserve_server.storage import s3

        await asyncio.to_thread(s3.download, uri, into, settings=settings, progress=progress)
    elif scheme in ("http", "https"):
        from kserve_server.storage import http

        await http.download(uri, into, settings=settings, progress=progress)
    elif scheme == "hf":
        from kserve_server.storage import hf

        await hf.download(uri, into, settings=settings, progress=progress)
    else:  # schemes.FETCHED names a scheme with no fetcher here
        raise StorageError(f"no fetcher for {scheme}://")


__all__ = ["StorageError", "StorageSettings", "fetch"]
