"""Payload logs written to a bucket (log url s3:// or gs://), as upstream's logger stores them.

Records are gathered `batch_size` at a time (a partial batch goes after `batch_interval`, or at
shutdown), marshalled (built in: json or csv; or an external marshaller at `marshaller_url`,
upstream's HTTP contract) and uploaded as one object through the storage initializer's S3 and
GCS code, with the same credentials environment. Delivery shares QueueSink's bounds and retries.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from kserve_server.payload import events, marshal
from kserve_server.payload.sink import QueueSink, UndeliverableError
from kserve_server.payload_settings import DEFAULT_MARSHALLER_URL, LoggerSettings
from kserve_server.storage import uris
from kserve_server.storage.errors import (
    AccessDeniedError,
    NotFoundError,
    StorageError,
    TransientError,
)
from kserve_server.storage.settings import StorageSettings

EXTENSION_HEADER = "X-Log-Marshal-Extension"
TOKEN_LIFETIME = 30 * 60.0  # re-read GCS credentials this often (tokens live an hour)
IDLE_POLL = 0.5  # a size-only batch checks this often whether shutdown wants it flushed


class StoreSink(QueueSink):
    def __init__(self, settings: LoggerSettings, *, storage: StorageSettings | None = None) -> None:
        super().__init__(settings, name=f"payload log store ({settings.url})", workers=1)
        self.storage = storage if storage is not None else StorageSettings()
        self.where = uris.bucket_path(settings.url)
        self.scheme = uris.scheme_of(settings.url)
        self._session: aiohttp.ClientSession | None = None
        self._s3: Any = None
        self._gcs_headers: dict[str, str] | None = None
        self._gcs_headers_at = 0.0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.post_timeout)
        )
        if self.scheme == "s3":
            from kserve_server.storage import s3  # boto3: the storage extra

            self._s3 = await asyncio.to_thread(s3.client, self.storage)
        await super().start()

    async def _close_transport(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _next_batch(self) -> list[events.LogRecord]:
        batch = [await self._queue.get()]
        size, interval = self.settings.batch_size, self.settings.batch_interval
        deadline = time.monotonic() + interval if interval > 0 else None
        while len(batch) < size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            if self._closing:
                break
            wait = IDLE_POLL if deadline is None else min(deadline - time.monotonic(), IDLE_POLL)
            if wait <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), wait))
            except TimeoutError:
                continue
        return batch

    async def deliver(self, batch: list[events.LogRecord]) -> list[events.LogRecord]:
        data, extension = await self._marshal(batch)
        key = marshal.object_key(batch[0], self.settings, extension=extension)
        content_type = marshal.CONTENT_TYPES.get(extension, "application/octet-stream")
        try:
            if self.scheme == "s3":
                from kserve_server.storage import s3

                await asyncio.to_thread(
                    s3.upload, self._s3, self.where.bucket, key, data, content_type=content_type
                )
            else:
                from kserve_server.storage import gcs

                assert self._session is not None
                await gcs.upload(
                    self._session,
                    self.where.bucket,
                    key,
                    data,
                    settings=self.storage,
                    headers=await self._gcs_auth(),
                    content_type=content_type,
                )
        except (NotFoundError, AccessDeniedError) as exc:
            raise UndeliverableError(str(exc)) from exc
        except TransientError:
            raise
        except StorageError as exc:
            raise RuntimeError(str(exc)) from exc
        self.stats.sent += len(batch)
        return []

    async def _gcs_auth(self) -> dict[str, str]:
        from kserve_server.storage import gcs

        now = time.monotonic()
        if self._gcs_headers is None or now - self._gcs_headers_at > TOKEN_LIFETIME:
            assert self._session is not None
            self._gcs_headers = await gcs.auth_headers(self._session, self.storage)
            self._gcs_headers_at = now
        return self._gcs_headers

    async def _marshal(self, batch: list[events.LogRecord]) -> tuple[bytes, str]:
        if self.settings.marshaller_url == DEFAULT_MARSHALLER_URL:
            done = marshal.marshal(batch, self.settings)
            return done.data, done.extension
        assert self._session is not None
        payload = [marshal.log_request(record, self.settings) for record in batch]
        async with self._session.post(self.settings.marshaller_url, json=payload) as response:
            body = await response.read()
            if not 200 <= response.status < 300:
                raise RuntimeError(
                    f"marshaller {self.settings.marshaller_url} answered {response.status}: "
                    f"{body[:200]!r}"
                )
            return body, response.headers.get(EXTENSION_HEADER) or "json"
