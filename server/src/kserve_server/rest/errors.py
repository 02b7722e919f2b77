"""One table from domain errors to HTTP statuses, and the JSON error responses built from it
(applied to every request by middleware.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from kserve_server.errors import (
    InferenceError,
    InvalidInput,
    ModelLoadError,
    ModelNotFound,
    ModelNotReady,
    Overloaded,
    PayloadTooLarge,
    RequestTimeout,
    ServerError,
    ServerNotReady,
    public_message,
)
from kserve_server.rest import connection
from kserve_server.rest.keys import CLIENT_ERRORS

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS: dict[type[BaseException], int] = {
    InvalidInput: 400,
    ModelNotFound: 404,
    RequestTimeout: 408,
    PayloadTooLarge: 413,
    InferenceError: 500,
    ModelLoadError: 500,
    NotImplementedError: 501,
    ModelNotReady: 503,
    Overloaded: 503,
    ServerNotReady: 503,
}


def status_for(exc: BaseException) -> int:
    return next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 500)


def error_response(
    message: str, *, status: int, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps({"error": message}),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def http_error(exc: web.HTTPException, request: web.Request) -> web.Response:
    """aiohttp's own 4xx/5xx (routing's 404 and 405, a body over client_max_size) as JSON."""
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return error_response(_http_message(exc, request), status=exc.status, headers=headers)


def broken_body(
    exc: HttpProcessingError | web.RequestPayloadError, request: web.Request
) -> web.Response:
    """A body that broke HTTP as it was read (bad chunking, a failed decompression): 400."""
    fault = connection.client_fault(exc) or "malformed"
    request.app[CLIENT_ERRORS].warning(
        "bad request from %s: %s %s: %s", request.remote, request.method, request.path, fault
    )
    response = error_response(f"bad request body: {fault}", status=400)
    response.force_close()  # the rest of the stream cannot be trusted
    return response


def failure(exc: Exception, request: web.Request) -> web.Response:
    """Any other exception, by the table; never a traceback in a body (an unexpected 500 is
    logged with one: call it in the `except` block)."""
    status = status_for(exc)
    if status == 500 and not isinstance(exc, ServerError):
        log.exception("request failed: %s %s", request.method, request.path)
    response = error_response(public_message(exc), status=status)
    if isinstance(exc, Overloaded):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, PayloadTooLarge | RequestTimeout):
        response.force_close()  # the body was not read to its end
    return response


def _http_message(exc: web.HTTPException, request: web.Request) -> str:
    if exc.status == 404:
        return f"Not Found: {request.method} {request.path}"
    if exc.status == 405:
        return f"Method Not Allowed: {request.method} {request.path}"
    if exc.status == 413:
        return f"Request body too large: {exc.text or ''}".strip()
    return exc.text or exc.reason
