"""Hold a request until its component accepts a connection, then forward it.

A component scaled to zero has a Service without endpoints: a connection to it is refused at
once, or (a SYN dropped: seen on the local cluster in the second the endpoint appears) not
answered within `connect_timeout`. Nothing has been sent then, so the request is safe to send
again: it is held (and counted,
which is what wakes the component through KEDA) while one probe per component tries to connect
every `probe_interval`; when a connection is accepted, every held request is sent. Past
`hold_timeout` a held request gets a 503 naming the component and how long it waited. Errors
after a request was sent are not retried (a 502 says so): the request may have run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp import web

from kserve_server.activator.load import Load
from kserve_server.activator.routes import Route, Table
from kserve_server.proxy_headers import forwardable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    hold_timeout: float = 60.0  # seconds a request may wait for its component
    probe_interval: float = 0.1  # seconds between connection attempts while it starts
    connect_timeout: float = 1.0  # a request's connection attempt (then held and tried again)
    probe_timeout: float = 0.5  # one probe's connection attempt
    max_connections: int = 1000


def error(status: int, message: str) -> web.Response:
    return web.Response(
        body=orjson.dumps({"error": message}), status=status, content_type="application/json"
    )


class Waker:
    """One probe per component: resolves every waiter when a connection is accepted."""

    def __init__(self, upstream: str, settings: Settings) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.settings = settings
        self._up: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def wait(self, seconds: float) -> bool:
        """True once the component accepts a connection, False after `seconds`."""
        if self._up is None or self._up.done():
            self._up = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._probe(self._up))
        try:
            await asyncio.wait_for(asyncio.shield(self._up), seconds)
        except TimeoutError:
            return False
        return True

    async def _probe(self, up: asyncio.Future[None]) -> None:
        while not up.done():
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.settings.probe_timeout
                )
            except (OSError, TimeoutError):
                await asyncio.sleep(self.settings.probe_interval)
                continue
            writer.close()
            if not up.done():
                up.set_result(None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class Activator:
    """The proxy handler and its state: the route table, the load KEDA reads, the wakers."""

    def __init__(self, *, table: Table, load: Load, settings: Settings) -> None:
        self.table = table
        self.load = load
        self.settings = settings
        self.synced = asyncio.Event()  # the route table has been listed once
        self._wakers: dict[str, Waker] = {}
        self._session: aiohttp.ClientSession | None = None

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.settings.max_connections, keepalive_timeout=15
            ),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.settings.connect_timeout),
        )
        try:
            yield
        finally:
            await asyncio.gather(*(w.close() for w in self._wakers.values()))
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        deadline = started + self.settings.hold_timeout
        host = request.headers.get("Host", "")
        if not self.synced.is_set():
            try:
                await asyncio.wait_for(self.synced.wait(), self.settings.hold_timeout)
            except TimeoutError:
                return error(503, "the activator has not read its routes from the API server yet")
        route = self.table.lookup(host)
        if route is None:
            return error(404, f"no InferenceService is routed through the activator for {host!r}")
        body = await request.read()
        self.load.hold(route.key)
        held = True
        try:
            while True:
                try:
                    upstream = await self._send(request, route, body)
                except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
                    left = deadline - time.monotonic()
                    if left <= 0 or not await self._waker(route).wait(left):
                        waited = time.monotonic() - started
                        log.warning("%s/%s not ready after %.1fs: 503", *route.key, waited)
                        return error(
                            503,
                            f"{route.service} in namespace {route.namespace} did not become "
                            f"ready within {self.settings.hold_timeout:g}s (held {waited:.1f}s)",
                        )
                    continue
                except aiohttp.ClientError as exc:
                    return error(502, f"{route.service} in namespace {route.namespace}: {exc}")
                self.load.release(route.key)
                held = False
                self.load.start(route.key)
                try:
                    return await self._relay(request, upstream)
                finally:
                    self.load.finish(route.key)
        finally:
            if held:
                self.load.release(route.key)

    def _waker(self, route: Route) -> Waker:
        waker = self._wakers.get(route.upstream)
        if waker is None:
            waker = self._wakers[route.upstream] = Waker(route.upstream, self.settings)
        return waker

    async def _send(
        self, request: web.Request, route: Route, body: bytes
    ) -> aiohttp.ClientResponse:
        assert self._session is not None
        headers = forwardable(request.headers.items())
        headers["X-Forwarded-Host"] = request.headers.get("Host", "")
        headers.setdefault("X-Forwarded-Proto", request.scheme)
        return await self._session.request(
            request.method,
            route.upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=body if body else None,
            allow_redirects=False,
        )

    async def _relay(
        self, request: web.Request, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        """The component's answer, streamed as it comes (server-sent events included)."""
        async with upstream:
            response = web.StreamResponse(
                status=upstream.status,
                reason=upstream.reason,
                headers=forwardable(upstream.headers.items()),
            )
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except aiohttp.ClientError as exc:
                log.warning("answer of %s cut: %s", upstream.url, exc)
                raise
            await response.write_eof()
            return response
