"""Streaming HTTP GET to a file over aiohttp's client, shared by the http(s) and gs:// fetchers.

Status codes become our errors here: 401/403/404 fail at once, 408/429/5xx, resets, timeouts
and short bodies are TransientError (retried by the caller).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from kserve_server.storage import retry
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


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system trust store, or only `ca_bundle` when one is configured (as requests does)."""
    if ca_bundle is None:
        return ssl.create_default_context()
    if not ca_bundle.is_file():
        raise StorageError(f"CA bundle {ca_bundle} (SSL_CERT_FILE/REQUESTS_CA_BUNDLE) not found")
    return ssl.create_default_context(cafile=str(ca_bundle))


def session(settings: StorageSettings) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
    )
    connector = aiohttp.TCPConnector(ssl=ssl_context(settings.ca_bundle), limit=32)
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
    """GET `url` into `path`, restarting the file on a transient failure."""
    announced = False

    async def attempt() -> None:
        nonlocal announced
        written = 0
        try:
            async with client.get(url, headers=headers) as resp:
                check(resp.status, shown=shown, reason=resp.reason or "")
                length = resp.content_length if expected is None else expected
                if not announced:
                    progress.expect(length)
                    announced = True
                written = await _stream(resp, path, progress)
                if length is not None and written < length:
                    raise TransientError(f"{shown}: closed after {written} of {length} bytes")
        except aiohttp.ClientConnectorCertificateError as err:
            raise _tls_error(err, shown) from err
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as err:
            progress.add(-written)
            raise TransientError(f"{shown}: {describe(err)}") from err
        except TransientError:
            progress.add(-written)
            raise

    await retry.retrying(
        attempt, what=shown, attempts=settings.retries, base_delay=settings.retry_base_delay
    )


async def _stream(resp: aiohttp.ClientResponse, path: Path, progress: Progress) -> int:
    written = 0
    batch: list[bytes] = []
    batched = 0
    with path.open("wb") as out:  # truncates what an earlier attempt left
        try:
            async for chunk in resp.content.iter_chunked(WRITE_BATCH):
                batch.append(chunk)
                batched += len(chunk)
                if batched >= WRITE_BATCH:
                    await asyncio.to_thread(out.writelines, batch)
                    written += batched
                    progress.add(batched)
                    batch, batched = [], 0
            if batch:
                await asyncio.to_thread(out.writelines, batch)
                written += batched
                progress.add(batched)
        except BaseException:
            progress.add(-written)
            raise
    return written


def _tls_error(err: aiohttp.ClientConnectorCertificateError, shown: str) -> StorageError:
    return StorageError(
        f"TLS verification failed for {shown}: {describe(err.certificate_error)}; "
        "set SSL_CERT_FILE to a CA bundle that signs this server"
    )
