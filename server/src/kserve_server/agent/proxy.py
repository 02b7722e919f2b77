"""The agent's proxy: every request forwarded to the component on 127.0.0.1, with the payload
logger and the batcher (V1 `:predict` only, as upstream's agent) in between.

As upstream: kubelet probes (User-Agent `kube-probe/...`) pass through unlogged; the request
is logged whatever the outcome and the response when its status is 200. Batched answers keep
upstream's keys (`predictions`, `batchId`); failures keep the component's status code, with an
`{"error": ...}` body.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import AsyncIterator, Hashable

import aiohttp
import orjson
from aiohttp import web

from kserve_server.agent.v1_join import Answer, Instances, JsonV1Join
from kserve_server.payload.batcher import Batcher
from kserve_server.payload.logger import Exchange, PayloadLogger
from kserve_server.payload_settings import BatcherSettings
from kserve_server.proxy_headers import forwardable

log = logging.getLogger(__name__)
PROBE_AGENT = "kube-probe/"


class ComponentError(Exception):
    """The component answered a batch (or a request run alone) with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        body=orjson.dumps({"error": message}), status=status, content_type="application/json"
    )


class Proxy:
    def __init__(
        self,
        *,
        component_port: int,
        logger: PayloadLogger | None,
        batcher: BatcherSettings | None,
        max_connections: int = 1000,
    ) -> None:
        self.target = f"http://127.0.0.1:{component_port}"
        self.logger = logger
        self.max_connections = max_connections
        self.batcher: Batcher[Instances, Answer] | None = None
        if batcher is not None:
            self.batcher = Batcher(batcher, join=JsonV1Join(), call=self._predict)
        self._session: aiohttp.ClientSession | None = None

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_connections),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )
        if self.logger is not None:
            await self.logger.start()
        try:
            yield
        finally:
            if self.batcher is not None:
                await self.batcher.close()
            await self._session.close()
            if self.logger is not None:
                await self.logger.close()  # after the last requests: they get logged too

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        probe = request.headers.get("User-Agent", "").startswith(PROBE_AGENT)
        exchange: Exchange | None = None
        if self.logger is not None and not probe:
            exchange = self.logger.request(
                headers=request.headers,
                header_items=request.headers.items(),
                body=body,
                content_type=request.headers.get("Content-Type", ""),
                at=_now(),
            )
        if (
            self.batcher is not None
            and request.method == "POST"
            and request.path.endswith(":predict")
        ):
            response = await self._batched(request, body)
        else:
            response = await self._forward(request, body)
        if exchange is not None and self.logger is not None:
            self.logger.response(
                exchange,
                status=response.status,
                body=response.body if isinstance(response.body, bytes) else b"",
                content_type=response.headers.get("Content-Type", ""),
                at=_now(),
            )
        return response

    async def _forward(self, request: web.Request, body: bytes) -> web.Response:
        assert self._session is not None
        try:
            async with self._session.request(
                request.method,
                self.target + request.rel_url.raw_path_qs,
                headers=forwardable(request.headers.items()),
                data=body if body else None,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                return web.Response(
                    body=payload,
                    status=upstream.status,
                    headers=forwardable(upstream.headers.items()),
                )
        except aiohttp.ClientError as exc:
            log.warning("component %s unreachable: %s", self.target, exc)
            return _error(502, f"the component at {self.target} is unreachable: {exc}")

    async def _batched(self, request: web.Request, body: bytes) -> web.Response:
        assert self.batcher is not None
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "can't unmarshal the body: not JSON")
        instances = parsed.get("instances") if isinstance(parsed, dict) else None
        if not isinstance(instances, list) or not instances:
            return _error(400, "no instances in the request")
        try:
            answer, batch_id = await self.batcher.submit(request.path, instances)
        except ComponentError as exc:
            return _error(exc.status, str(exc))
        except aiohttp.ClientError as exc:
            return _error(502, f"the component at {self.target} is unreachable: {exc}")
        return web.Response(
            body=orjson.dumps({**answer, "batchId": batch_id}), content_type="application/json"
        )

    async def _predict(self, path: Hashable, instances: Instances) -> Answer:
        assert self._session is not None
        async with self._session.post(
            self.target + str(path),
            data=orjson.dumps({"instances": instances}),
            headers={"Content-Type": "application/json"},
        ) as upstream:
            payload = await upstream.read()
            if upstream.status != 200:
                raise ComponentError(upstream.status, _message(payload))
        try:
            answer = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise ComponentError(502, "the component's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise ComponentError(502, "the component's answer is not a JSON object")
        return answer


def _message(payload: bytes) -> str:
    """The component's own error message: its JSON `error` field, else its text."""
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", errors="replace").strip() or "the component failed"
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return str(parsed["error"])
    return payload.decode("utf-8", errors="replace").strip()
