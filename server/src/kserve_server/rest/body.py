"""Reading a request body within bounds a hostile or clumsy client cannot stretch.

Sizes count the body as decoded (after Content-Encoding), chunk by chunk while it inflates, so a
small gzip bomb stops at the limit instead of after it; times bound a body that trickles in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import StreamReader, web

from kserve_server.errors import PayloadTooLarge, RequestTimeout

# set by the payload logger's middleware (rest/payload.py): read() hands it the body it read
TAP: web.RequestKey[Callable[[bytes], None]] = web.RequestKey("body_tap")


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int = 64 * 1024 * 1024
    first_byte_timeout: float = 30.0  # from the handler's first read to the first body byte
    total_timeout: float = 300.0  # from the handler's first read to the last body byte
    # a payload logger is installed (rest/payload.py): it sets TAP on the requests it logs. Only
    # then is TAP looked up: a request's missing key costs a KeyError raised and caught.
    tapped: bool = False


async def read(request: web.Request, limits: BodyLimits) -> bytes:
    """The whole body; raises PayloadTooLarge (413) or RequestTimeout (408)."""
    declared = request.content_length
    if declared is not None and declared > limits.max_bytes:
        raise PayloadTooLarge(_too_large(limits.max_bytes, f"Content-Length is {declared}"))
    content = request.content
    if content.is_eof():
        # The parser has the whole body already (a small request arrives with its headers):
        # nothing to wait for, so no timers (they were most of a small request's read cost).
        body = content.read_nowait()
        if len(body) > limits.max_bytes:
            raise PayloadTooLarge(_too_large(limits.max_bytes, "the body is larger"))
    else:
        body = await _arriving(content, limits)
    if limits.tapped and (tap := request.get(TAP)) is not None:
        tap(body)
    return body


async def _arriving(content: StreamReader, limits: BodyLimits) -> bytes:
    """A body still arriving: one deadline, moved from the first byte's to the whole body's."""
    started = asyncio.get_running_loop().time()
    first = min(limits.first_byte_timeout, limits.total_timeout)
    body = bytearray()
    try:
        async with asyncio.timeout_at(started + first) as deadline:
            while chunk := await content.readany():
                if not body:
                    deadline.reschedule(started + limits.total_timeout)
                if len(body) + len(chunk) > limits.max_bytes:
                    raise PayloadTooLarge(_too_large(limits.max_bytes, "the body is larger"))
                body += chunk
    except TimeoutError:
        waited, limit = (
            ("the whole body", limits.total_timeout)
            if body
            else ("the first byte of the body", first)
        )
        raise RequestTimeout(f"{waited} did not arrive within {limit:g} s") from None
    return bytes(body)


def _too_large(limit: int, detail: str) -> str:
    return f"Request body too large: at most {limit} bytes are accepted; {detail}"
