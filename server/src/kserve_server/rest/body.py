"""Reading a request body within bounds a hostile or clumsy client cannot stretch.

Sizes count the body as decoded (after Content-Encoding), chunk by chunk while it inflates, so a
small gzip bomb stops at the limit instead of after it; times bound a body that trickles in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from kserve_server.errors import PayloadTooLarge, RequestTimeout

# set by the payload logger's middleware (rest/payload.py): read() hands it the body it read
TAP: web.RequestKey[Callable[[bytes], None]] = web.RequestKey("body_tap")


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int = 64 * 1024 * 1024
    first_byte_timeout: float = 30.0  # from the handler's first read to the first body byte
    total_timeout: float = 300.0  # from the handler's first read to the last body byte


async def read(request: web.Request, limits: BodyLimits) -> bytes:
    """The whole body; raises PayloadTooLarge (413) or RequestTimeout (408)."""
    declared = request.content_length
    if declared is not None and declared > limits.max_bytes:
        raise PayloadTooLarge(_too_large(limits.max_bytes, f"Content-Length is {declared}"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    body = bytearray()
    while True:
        waited = "the first byte of the body" if not body else "the whole body"
        limit = limits.total_timeout
        if not body:
            limit = min(limits.first_byte_timeout, limit)
        try:
            async with asyncio.timeout_at(started + limit):
                chunk = await request.content.readany()
        except TimeoutError:
            raise RequestTimeout(f"{waited} did not arrive within {limit:g} s") from None
        if not chunk:
            data = bytes(body)
            tap = request.get(TAP)
            if tap is not None:  # the payload logger (rest/payload.py)
                tap(data)
            return data
        if len(body) + len(chunk) > limits.max_bytes:
            raise PayloadTooLarge(_too_large(limits.max_bytes, "the body is larger"))
        body += chunk


def _too_large(limit: int, detail: str) -> str:
    return f"Request body too large: at most {limit} bytes are accepted; {detail}"
