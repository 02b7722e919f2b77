"""Parsing a large V1 body a slice of its instances at a time.

orjson holds the GIL for a whole parse (seconds of CPU for 20 MB of rows on a busy node): even
in a worker thread the event loop, and so every health check, waits for it. A body shaped like
`{"instances": [...], ...}` is cut at the array's top-level commas, found with numpy a block at
a time, and parsed ~1 MiB at a time, so the loop runs between slices. Any other shape, a
backslash anywhere (escapes would need a real scanner) or a slice that does not parse falls
back to one orjson.loads of the whole body: same result, same errors, only less responsive.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson

SLICE = 1 << 20
_ARRAY_START = re.compile(rb'\A\s*\{\s*"(instances|inputs)"\s*:\s*\[')
_QUOTE, _COMMA = ord('"'), ord(",")
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))


def loads(body: bytes) -> Any:
    match = _ARRAY_START.match(body) if len(body) > 2 * SLICE else None
    if match is None or b"\\" in body:
        return orjson.loads(body)
    try:
        return _sliced(body, key=match.group(1).decode(), start=match.end())
    except (orjson.JSONDecodeError, _UnsliceableError):
        return orjson.loads(body)  # raises the error a client should read, if any


class _UnsliceableError(Exception):
    pass


def _sliced(body: bytes, *, key: str, start: int) -> dict[str, Any]:
    cuts, end = _cuts(body, start)
    items: list[Any] = []
    at = start
    for cut in [*cuts, end]:
        piece = body[at:cut]
        if cuts and not piece.strip():
            raise _UnsliceableError  # `[,1]` or `[1,]`, which "[" + piece + "]" would hide
        items.extend(orjson.loads(b"[" + piece + b"]"))
        at = cut + 1
    rest = body[end + 1 :].strip()
    if rest == b"}":
        return {key: items}
    if not rest.startswith(b","):
        raise _UnsliceableError
    others = orjson.loads(b"{" + rest[1:])
    if not isinstance(others, dict) or key in others:
        raise _UnsliceableError  # a repeated key: let orjson decide which one wins
    return {key: items, **others}


def _cuts(body: bytes, start: int) -> tuple[list[int], int]:
    """About one top-level comma of the array per SLICE bytes, and its closing bracket."""
    data = np.frombuffer(body, dtype=np.uint8)
    depth, in_string = 0, False  # at the start of each block; depth 0: the array's own level
    cuts: list[int] = []
    for begin in range(start, len(data), SLICE):
        block = data[begin : begin + SLICE]
        quotes = block == _QUOTE
        seen = np.cumsum(quotes, dtype=np.int64)
        inside = ((seen - quotes + in_string) % 2).astype(bool)  # in a string before this byte
        opens = np.isin(block, _OPEN) & ~inside
        closes = np.isin(block, _CLOSE) & ~inside
        level = depth + np.cumsum(opens.astype(np.int64) - closes)
        ends = np.flatnonzero(level < 0)
        limit = int(ends[0]) if len(ends) else len(block)
        commas = np.flatnonzero((block[:limit] == _COMMA) & ~inside[:limit] & (level[:limit] == 0))
        if len(commas):
            cuts.append(begin + int(commas[-1]))
        if len(ends):
            return cuts, begin + limit
        depth = int(level[-1])
        in_string = bool((int(seen[-1]) + in_string) % 2)
    raise _UnsliceableError  # the array never closes: orjson says where
