"""The HTTP connection layer under the app: what aiohttp's own parser refuses, answered like
everything else, as `{"error": ...}`, and logged as one rate-limited WARNING line.

aiohttp answers parser errors (too many headers, a URL over 8 KiB, a bad method, a bad
Content-Length or chunking, an unknown Content-Encoding) itself, in text/plain, with an ERROR
traceback each: any client could flood the log. It has no hook for that response, so `Runner`
gives the pinned aiohttp's Server and RequestHandler a subclass of ours (`__class__` swapped in,
no state added), and the `logger` it already accepts is our rate-limited one.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, MutableMapping
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger("kserve_server.client_errors")


class ClientErrorLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Warnings at most once per `interval`, with a count of those left out meanwhile, in one
    line each. aiohttp's own ERROR for a request that broke HTTP (its lingering read of a body
    that failed to decode) is such a warning too. Client errors cost the log one line every
    `interval`, however many clients send them."""

    def __init__(
        self,
        logger: logging.Logger = log,
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(logger, {})
        self.interval = interval
        self.clock = clock
        self.suppressed = 0
        self._last = -interval

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        fault = client_fault(kwargs.get("exc_info"))
        if level >= logging.ERROR and fault is not None:
            level, msg, args = logging.WARNING, "%s: %s", (msg % args if args else msg, fault)
        if level == logging.WARNING:
            now = self.clock()
            if now - self._last < self.interval:
                self.suppressed += 1
                return
            self._last = now
            if self.suppressed:
                msg = f"{msg} ({self.suppressed} more client errors since the last line)"
                self.suppressed = 0
            kwargs.pop("exc_info", None)  # the client's mistake needs no traceback
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


def client_fault(exc_info: object) -> str | None:
    """One line saying how the client broke HTTP, if `exc_info` is such an error."""
    exc = sys.exc_info()[1] if exc_info is True else exc_info
    if isinstance(exc, web.RequestPayloadError):  # a body failing to decode, as read
        exc = exc.__cause__ or exc
    if isinstance(exc, HttpProcessingError):
        return " ".join(exc.message.split()) if isinstance(exc.message, str) else str(exc.code)
    return None


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})


class _Handler(web.RequestHandler):
    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: a response is half sent already
            raise ConnectionError("cannot send an error response after a response started")
        text = message or HTTPStatus(status).phrase
        if status < 500:
            self.logger.warning("bad request from %s: %s (%d)", request.remote, text, status)
        else:
            self.logger.exception("error handling a request from %s", request.remote, exc_info=exc)
        response = web.Response(
            body=error_body(text), status=status, content_type="application/json"
        )
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> web.RequestHandler:
        handler = super().__call__()
        handler.__class__ = _Handler
        return handler


class Runner(web.AppRunner):
    """web.AppRunner whose connections answer parser errors as JSON. Pass `logger=` a
    ClientErrorLog (aiohttp hands it to every connection)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server
        return server
