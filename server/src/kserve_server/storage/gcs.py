"""gs:// over the GCS JSON API with aiohttp: one object, or every object under a prefix.

`gs://bucket/path` is a prefix when objects exist under `path/`, else the object `path` itself
(saved under its base name). STORAGE_EMULATOR_HOST points at an emulator, as Google's SDKs do.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode

import aiohttp

from kserve_server.storage import gcs_auth, transfer, uris
from kserve_server.storage.errors import AccessDeniedError, NotFoundError, UnsafePathError
from kserve_server.storage.progress import Progress
from kserve_server.storage.settings import StorageSettings

PUBLIC_ENDPOINT = "https://storage.googleapis.com"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Blob:
    name: str
    size: int
    relative: str  # where it goes under the destination


def endpoint(settings: StorageSettings) -> str:
    host = settings.storage_emulator_host
    if not host:
        return PUBLIC_ENDPOINT
    return host.rstrip("/") if "://" in host else f"http://{host}"


async def download(uri: str, into: Path, *, settings: StorageSettings, progress: Progress) -> None:
    where = uris.bucket_path(uri)
    base = endpoint(settings)
    async with transfer.session(settings) as client:
        headers = await _auth_headers(client, settings)
        try:
            blobs = await _list(client, base, where, uri=uri, headers=headers, settings=settings)
        except AccessDeniedError:
            if headers:
                raise
            token = await gcs_auth.metadata_token(client, host=settings.gce_metadata_host)
            if token is None:
                raise
            log.info(
                "gs://%s: anonymous access refused; using the metadata server's identity",
                where.bucket,
            )
            headers = {"Authorization": f"Bearer {token}"}
            blobs = await _list(client, base, where, uri=uri, headers=headers, settings=settings)
        progress.expect(sum(b.size for b in blobs))
        limit = asyncio.Semaphore(settings.max_concurrency)

        async def one(blob: Blob) -> None:
            target = into / blob.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            url = f"{_object_url(base, where.bucket, blob.name)}?alt=media"
            async with limit:
                await transfer.download(
                    client,
                    url,
                    target,
                    shown=f"gs://{where.bucket}/{blob.name}",
                    headers=headers,
                    progress=progress,
                    settings=settings,
                    expected=blob.size,
                )

        await asyncio.gather(*(one(b) for b in blobs))


async def _auth_headers(client: aiohttp.ClientSession, settings: StorageSettings) -> dict[str, str]:
    if settings.gcs_service_account is not None:
        account = gcs_auth.parse(
            settings.gcs_service_account.get_secret_value(),
            where="STORAGE_CONFIG base64_service_account",
        )
    elif settings.google_application_credentials is not None:
        account = gcs_auth.load(settings.google_application_credentials)
    else:
        return {}  # anonymous: public buckets and emulators
    token = await gcs_auth.access_token(client, account)
    return {"Authorization": f"Bearer {token}"}


async def _list(
    client: aiohttp.ClientSession,
    base: str,
    where: uris.BucketPath,
    *,
    uri: str,
    headers: dict[str, str],
    settings: StorageSettings,
) -> list[Blob]:
    prefix = f"{where.key}/" if where.key else ""
    blobs: list[Blob] = []
    token = ""
    while True:
        query = {"prefix": prefix, "fields": "items(name,size),nextPageToken"}
        if token:
            query["pageToken"] = token
        page = await transfer.get_json(
            client,
            f"{base}/storage/v1/b/{quote(where.bucket, safe='')}/o?{urlencode(query)}",
            shown=f"gs://{where.bucket}",
            headers=headers,
            settings=settings,
        )
        for item in page.get("items") or []:  # type: ignore[attr-defined]
            name = str(item["name"])
            if not name.endswith("/"):  # "directory" placeholder objects
                blobs.append(Blob(name, int(item.get("size", 0)), _relative(name, prefix, uri)))
        token = str(page.get("nextPageToken") or "")
        if not token:
            break
    if blobs or not where.key:
        if not blobs:
            raise NotFoundError(f"no objects in {uris.redact(uri)}")
        return blobs
    meta = await transfer.get_json(
        client,
        _object_url(base, where.bucket, where.key),
        shown=uri,
        headers=headers,
        settings=settings,
    )
    name = PurePosixPath(where.key).name
    return [Blob(where.key, int(str(meta.get("size", 0))), name)]


def _object_url(base: str, bucket: str, name: str) -> str:
    return f"{base}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"


def _relative(name: str, prefix: str, uri: str) -> str:
    relative = PurePosixPath(name[len(prefix) :])
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise UnsafePathError(f"object {name!r} in {uri} would be written outside the destination")
    return str(relative)


async def auth_headers(client: aiohttp.ClientSession, settings: StorageSettings) -> dict[str, str]:
    """Authorization for a writer (the payload logger's store): the configured key, else the
    metadata server's identity when there is one, else none (emulators)."""
    headers = await _auth_headers(client, settings)
    if headers or settings.storage_emulator_host:
        return headers
    token = await gcs_auth.metadata_token(client, host=settings.gce_metadata_host)
    return {"Authorization": f"Bearer {token}"} if token else {}


async def upload(
    client: aiohttp.ClientSession,
    bucket: str,
    name: str,
    data: bytes,
    *,
    settings: StorageSettings,
    headers: dict[str, str],
    content_type: str,
) -> None:
    """One object, by a simple media upload."""
    url = f"{endpoint(settings)}/upload/storage/v1/b/{quote(bucket, safe='')}/o?" + urlencode(
        {"uploadType": "media", "name": name}
    )
    async with client.post(
        url, data=data, headers={**headers, "Content-Type": content_type}
    ) as response:
        await response.read()
        transfer.check(response.status, shown=f"gs://{bucket}/{name}", reason=response.reason or "")
