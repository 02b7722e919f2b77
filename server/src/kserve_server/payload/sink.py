"""Delivery of log records away from the request path: a bounded queue and a few workers.

`submit` never waits and never raises: a full queue drops the record (counted, and logged at
most once per DROP_LOG_INTERVAL), so a slow or dead sink costs inference nothing but the
enqueue. Workers post with retries and exponential backoff; on shutdown `close` delivers what
it can within the drain budget and counts the rest as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from kserve_server.payload import events, http_post
from kserve_server.payload_settings import CA_CERT_DIR, LoggerSettings

log = logging.getLogger(__name__)
DROP_LOG_INTERVAL = 10.0


@dataclass
class SinkStats:
    sent: int = 0
    failed: int = 0  # given up after the retries (or refused with a 4xx)
    dropped: int = 0  # never tried: the queue was full, or shutdown came first
    retries: int = 0


class DropLog:
    """Logs drops at most once per interval, with the count since the last line."""

    def __init__(self, what: str, *, interval: float = DROP_LOG_INTERVAL) -> None:
        self.what = what
        self.interval = interval
        self._last = -interval
        self._pending = 0

    def dropped(self, reason: str, now: float) -> None:
        self._pending += 1
        if now - self._last >= self.interval:
            log.warning("%s: dropped %d record(s): %s", self.what, self._pending, reason)
            self._pending = 0
            self._last = now


class UndeliverableError(Exception):
    """The sink refused the record for good (a 4xx other than 408/429)."""


class QueueSink:
    """Bounded queue → `workers` tasks, each delivering `batch` records at a time."""

    def __init__(self, settings: LoggerSettings, *, name: str, workers: int) -> None:
        self.settings = settings
        self.stats = SinkStats()
        self._queue: asyncio.Queue[events.LogRecord] = asyncio.Queue(settings.queue_size)
        self._workers_count = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._drops = DropLog(name)
        self._refusals = DropLog(name)
        self._closing = False

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def submit(self, record: events.LogRecord) -> None:
        if self._closing:
            self._drop("shutting down")
            return
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            self._drop(f"queue full ({self.settings.queue_size}); the sink is slow or down")

    def _drop(self, reason: str) -> None:
        self.stats.dropped += 1
        self._drops.dropped(reason, time.monotonic())

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers_count)]

    async def close(self) -> None:
        """Deliver what is queued within the drain budget; drop the rest."""
        self._closing = True
        if self._tasks:
            try:
                async with asyncio.timeout(self.settings.drain_timeout):
                    await self._queue.join()
            except TimeoutError:
                log.warning(
                    "payload logger: %d record(s) not delivered within %ss of shutdown",
                    self._queue.qsize(),
                    self.settings.drain_timeout,
                )
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
            self.stats.dropped += 1
        await self._close_transport()

    async def _close_transport(self) -> None:
        return None

    async def _next_batch(self) -> list[events.LogRecord]:
        return [await self._queue.get()]

    async def _work(self) -> None:
        while True:
            batch = await self._next_batch()
            try:
                await self._deliver_with_retries(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _deliver_with_retries(self, batch: list[events.LogRecord]) -> None:
        delay = self.settings.retry_delay
        pending = batch
        for attempt in range(self.settings.retries + 1):
            reason = ""
            try:
                pending = await self.deliver(pending)
            except asyncio.CancelledError:
                raise
            except UndeliverableError as exc:
                self.stats.failed += len(pending)
                log.warning("payload logger: %s", exc)
                return
            except Exception as exc:
                reason = str(exc) or type(exc).__name__
            if not pending:
                return
            if attempt == self.settings.retries:
                self.stats.failed += len(pending)
                log.warning(
                    "payload logger: giving up on %d record(s) after %d attempt(s): %s",
                    len(pending),
                    attempt + 1,
                    reason or "the sink kept failing",
                )
                return
            self.stats.retries += 1
            await asyncio.sleep(delay)
            delay *= 2

    async def deliver(self, batch: list[events.LogRecord]) -> list[events.LogRecord]:
        """Deliver `batch`, counting what is sent or refused for good; what to try again."""
        raise NotImplementedError


class CloudEventSink(QueueSink):
    """Each record as a binary-mode CloudEvent POSTed to the sink URL; a worker sends what is
    queued (up to PIPELINE records) at once on its kept-alive connection."""

    PIPELINE = 32
    LINGER = 0.01  # seconds a lone event waits for company

    def __init__(self, settings: LoggerSettings, *, origin: events.Origin) -> None:
        name = f"payload logger ({settings.url})"
        super().__init__(settings, name=name, workers=settings.workers)
        self.origin = origin
        self.target = http_post.Target.parse(settings.url)
        self.encoder = events.HeaderEncoder(origin)
        self._tls: ssl.SSLContext | None = None
        self._idle: list[http_post.Connection] = []
        self._gathering = asyncio.Lock()

    async def start(self) -> None:
        context = tls_context(self.settings)
        self._tls = context if isinstance(context, ssl.SSLContext) else None
        await super().start()

    async def _close_transport(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def _next_batch(self) -> list[events.LogRecord]:
        # one worker gathers at a time, and lingers a moment for company: events are not
        # urgent, and one write carrying several costs the serving process far less than a
        # write (a loopback or NIC send in the kernel) and a read for each
        async with self._gathering:
            batch = [await self._queue.get()]
            if self._queue.qsize() < self.PIPELINE and not self._closing:
                await asyncio.sleep(self.LINGER)
            while len(batch) < self.PIPELINE and not self._queue.empty():
                batch.append(self._queue.get_nowait())
        return batch

    async def deliver(self, batch: list[events.LogRecord]) -> list[events.LogRecord]:
        recorded = events.timestamp(datetime.datetime.now(datetime.UTC))
        requests = [
            http_post.request(
                self.target, headers=self.encoder.encode(r, recorded=recorded), body=r.body
            )
            for r in batch
        ]
        connection = self._idle.pop() if self._idle else self._connection()
        statuses: list[int] = []
        try:
            # a sink that closes after some answers gets the rest on a new connection
            while len(statuses) < len(requests):
                statuses += await connection.exchange(
                    requests[len(statuses) :], answer_within=self.settings.post_timeout
                )
        except asyncio.CancelledError:
            connection.close()
            raise
        except Exception as exc:
            connection.close()
            if isinstance(exc, http_post.ConnectionLostError):
                statuses += exc.answered
            if not statuses:
                raise
        else:
            self._idle.append(connection)
        again: list[events.LogRecord] = []
        refused = 0
        for record, status in zip(batch, statuses, strict=False):
            if status < 400:
                self.stats.sent += 1
            elif status >= 500 or status in (408, 429):
                again.append(record)
            else:
                refused += 1
        if refused:
            self.stats.failed += refused
            self._refusals.dropped(f"the sink refused {refused} event(s) (4xx)", time.monotonic())
        again += batch[len(statuses) :]  # not answered: the connection broke first
        return again

    def _connection(self) -> http_post.Connection:
        return http_post.Connection(self.target, tls=self._tls)


def tls_context(settings: LoggerSettings) -> ssl.SSLContext | bool:
    """https sinks: the system store plus the mounted CA file when present (as upstream: a
    missing file is not an error); `tls_skip_verify` turns verification off."""
    if not settings.url.lower().startswith("https://"):
        return True
    context = ssl.create_default_context()
    ca_file = Path(CA_CERT_DIR) / settings.ca_cert_file
    if ca_file.is_file():
        context.load_verify_locations(cafile=str(ca_file))
    if settings.tls_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
