"""The payload logger in the model server: a middleware over the inference routes.

The request body is the one the handler reads (body.read hands it over through `body.TAP`), so
logging costs no second read; the response is the handler's answer as sent. A request refused
before its body is read (unknown model 404, model not ready 503) is not logged.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from kserve_server.payload.logger import PayloadLogger
from kserve_server.rest import body
from kserve_server.rest.errors import Handler
from kserve_server.rest.metrics import INFERENCE_SUFFIXES


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def middleware(logger: PayloadLogger) -> Middleware:
    @web.middleware
    async def log_payloads(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or not request.path.endswith(INFERENCE_SUFFIXES):
            return await handler(request)
        arrived = _now()
        seen: list[bytes] = []
        request[body.TAP] = seen.append
        try:
            response = await handler(request)
        except BaseException:
            if seen:  # the model failed or the request was bad: the request is still logged
                _log_request(logger, request, seen[0], arrived)
            raise
        if not seen:
            return response
        exchange = _log_request(logger, request, seen[0], arrived)
        sent = response.body if isinstance(response, web.Response) else None
        if isinstance(sent, bytes | bytearray):
            logger.response(
                exchange,
                status=response.status,
                body=bytes(sent),
                content_type=response.headers.get("Content-Type", ""),
                at=_now(),
            )
        return response

    return log_payloads


def _log_request(
    logger: PayloadLogger, request: web.Request, raw: bytes, arrived: datetime.datetime
) -> Any:
    return logger.request(
        headers=request.headers,
        header_items=request.headers.items(),
        body=raw,
        content_type=request.headers.get("Content-Type", ""),
        at=arrived,
    )


def lifespan(logger: PayloadLogger) -> Callable[[web.Application], AsyncIterator[None]]:
    """Start the sink with the app; at cleanup (after in-flight requests drained) flush it."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        await logger.start()
        try:
            yield
        finally:
            await logger.close()

    return run
