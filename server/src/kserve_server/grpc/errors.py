"""One table from domain errors to gRPC status codes, and the wrapper that applies it.

Codes follow upstream KServe's gRPC interceptor (spec §1.2), InferenceError included: upstream
answers INVALID_ARGUMENT where REST says 500. Messages are the REST `error` texts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from kserve_server.errors import (
    InferenceError,
    InvalidInput,
    ModelLoadError,
    ModelNotFound,
    ModelNotReady,
    PayloadTooLarge,
    ServerError,
    ServerNotReady,
    public_message,
)

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[[Req, grpc.aio.ServicerContext[Req, Resp]], Awaitable[Resp]]

CODES: dict[type[BaseException], grpc.StatusCode] = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    InferenceError: grpc.StatusCode.INVALID_ARGUMENT,
    ModelNotFound: grpc.StatusCode.NOT_FOUND,
    PayloadTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ModelLoadError: grpc.StatusCode.INTERNAL,
    NotImplementedError: grpc.StatusCode.UNIMPLEMENTED,
    ModelNotReady: grpc.StatusCode.UNAVAILABLE,
    ServerNotReady: grpc.StatusCode.UNAVAILABLE,
}


def code_for(exc: BaseException) -> grpc.StatusCode:
    return next((CODES[c] for c in type(exc).__mro__ if c in CODES), grpc.StatusCode.INTERNAL)


def handled(handler: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Every failure leaves as a status code and the REST message; never a traceback."""

    @functools.wraps(handler)
    async def wrapper(request: Req, context: grpc.aio.ServicerContext[Req, Resp]) -> Resp:
        try:
            return await handler(request, context)
        except Exception as exc:
            code = code_for(exc)
            if code is grpc.StatusCode.INTERNAL and not isinstance(exc, ServerError):
                log.exception("gRPC %s failed", handler.__name__)
            await context.abort(code, public_message(exc))
            raise  # unreachable: abort raises

    return wrapper
