"""Streaming HTTP GET to a file over aiohttp's client, shared by the http(s) and gs:// fetchers.

Status codes become our errors here: 401/403/404 fail at once, 408/429/5xx, resets, timeouts
and short bodies are TransientError (retried by the caller).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from kserve_server.storage import retry, trust
from kserve_server.storage.errors import (
    AccessDeniedError,
    NotFoundError,
    StorageError,
    TransientError,
)
from kserve_server.storage.progress import Progress
from kserve_server.storage.settings import StorageSettings

WRITE_BATCH = 4 << 20  # hand the disk 4 MiB at a time, off the event loop
READ_BUFFER = 4 << 20


def session(settings: StorageSettings) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
    )
    connector = aiohttp.TCPConnector(ssl=trust.context(settings.ca_bundle), limit=32)
    # trust_env: HTTP(S)_PROXY/NO_PROXY as every other client in a cluster honours them.
    # read_bufsize: aiohttp's 64 KiB default pauses the socket so often it halves throughput.
    return aiohttp.ClientSession(
        timeout=timeout,
        connector=connector,
        trust_env=True,
        auto_decompress=False,
        read_bufsize=READ_BUFFER,
    )


def check(status: int, *, shown: str, reason: str = "") -> None:
    """Raise the error a status means; return for 2xx."""
    if 200 <= status < 300:
        return
    if status == 401:
        raise AccessDeniedError(f"authentication failed for {shown} (HTTP 401); check credentials")
    if status == 403:
        raise AccessDeniedError(f"access denied to {shown} (HTTP 403); check permissions")
    if status == 404:
        raise NotFoundError(f"not found: {shown} (HTTP 404)")
    if status in (408, 429) or status >= 500:
        raise TransientError(f"{shown}: HTTP {status} {reason}".rstrip())
    raise StorageError(f"{shown}: HTTP {status} {reason}".rstrip())


def describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "timed out"
    text = str(err) or type(err).__name__
    return text.splitlines()[0]


async def get_json(
    client: aiohttp.ClientSession,
    url: str,
    *,
    shown: str,
    headers: Mapping[str, str],
    settings: StorageSettings,
) -> dict[str, object]:
    async def attempt() -> dict[str, object]:
        try:
            async with client.get(url, headers=headers) as resp:
                check(resp.status, shown=shown, reason=resp.reason or "")
                body: dict[str, object] = await resp.json(content_type=None)
                return body
        except aiohttp.ClientConnectorCertificateError as err:
            raise _tls_error(err, shown) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TransientError(f"{shown}: {describe(err)}") from err

    return await retry.retrying(
        attempt, what=shown, attempts=settings.retries, base_delay=settings.retry_base_delay
    )


@dataclass
class _Partial:
    """What an interrupted attempt left in the file, so the next one can resume it."""

    on_disk: int = 0  # bytes in the file, all already counted in progress
    validator: str | None = None  # strong ETag or Last-Modified they came with
    total: int | None = None
    announced: bool = False


async def download(
    client: aiohttp.ClientSession,
    url: str,
    path: Path,
    *,
    shown: str,
    headers: Mapping[str, str],
    progress: Progress,
    settings: StorageSettings,
    expected: int | None = None,
) -> None:
    """GET `url` into `path`. After a transient failure the next attempt asks for the rest
    (Range + If-Range, so a changed object is fetched whole again), else restarts the file."""
    part = _Partial()

    def restart() -> None:
        progress.add(-part.on_disk)
        part.on_disk, part.validator = 0, None

    async def attempt() -> None:
        asked = dict(headers)
        if part.on_disk and part.validator:
            asked["Range"] = f"bytes={part.on_disk}-"
            asked["If-Range"] = part.validator
        elif part.on_disk:
            restart()
        try:
            async with client.get(url, headers=asked) as resp:
                if resp.status == 416:  # our range no longer fits the object
                    restart()
                    raise TransientError(f"{shown}: range not satisfiable; starting over")
                check(resp.status, shown=shown, reason=resp.reason or "")
                resumed = "Range" in asked and resp.status == 206
                if resumed and _range_start(resp) != part.on_disk:
                    restart()
                    raise TransientError(f"{shown}: server sent an unexpected range")
                if not resumed:
                    restart()
                    part.total = resp.content_length if expected is None else expected
                    part.validator = _validator(resp)
                    if not part.announced:
                        progress.expect(part.total)
                        part.announced = True
                await _stream(resp, path, progress, part, append=resumed)
                if part.total is not None and part.on_disk < part.total:
                    raise TransientError(
                        f"{shown}: closed after {part.on_disk} of {part.total} bytes"
                    )
        except aiohttp.ClientConnectorCertificateError as err:
            raise _tls_error(err, shown) from err
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as err:
            raise TransientError(f"{shown}: {describe(err)}") from err

    await retry.retrying(
        attempt, what=shown, attempts=settings.retries, base_delay=settings.retry_base_delay
    )


def _validator(resp: aiohttp.ClientResponse) -> str | None:
    etag = resp.headers.get("ETag")
    if etag and not etag.startswith("W/"):  # If-Range needs a strong validator
        return etag
    return resp.headers.get("Last-Modified")


def _range_start(resp: aiohttp.ClientResponse) -> int | None:
    # Content-Range: bytes START-END/TOTAL
    value = resp.headers.get("Content-Range", "")
    try:
        return int(value.split(" ", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


async def _stream(
    resp: aiohttp.ClientResponse, path: Path, progress: Progress, part: _Partial, *, append: bool
) -> None:
    batch: list[bytes] = []
    batched = 0

    async def flush() -> None:
        nonlocal batch, batched
        await asyncio.to_thread(out.writelines, batch)
        out.flush()
        part.on_disk += batched
        progress.add(batched)
        batch, batched = [], 0

    with path.open("ab" if append else "wb") as out:
        async for chunk in resp.content.iter_chunked(WRITE_BATCH):
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BATCH:
                await flush()
        if batch:
            await flush()


def _tls_error(err: aiohttp.ClientConnectorCertificateError, shown: str) -> StorageError:
    return StorageError(
        f"TLS verification failed for {shown}: {describe(err.certificate_error)}; "
        "set SSL_CERT_FILE to a CA bundle that signs this server"
    )
