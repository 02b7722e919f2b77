"""Where a request body is decoded, and how many large ones may be decoded at once.

A small body is decoded inline: a thread hop costs more than orjson on a few KiB. A large one
(over `inline_max_bytes`) is decoded, run and encoded in a worker thread, so health checks keep
answering in milliseconds; JSON decoding costs memory many times the body (a 64 MiB array of
zeros becomes ~0.5 GiB of Python objects and numpy), so large bodies also share a budget of
`max_bytes` of body: a request waits for its share in a bounded queue, then gets 503 with
Retry-After instead of pushing the pod out of memory.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kserve_server.errors import Overloaded

T = TypeVar("T")


@dataclass(frozen=True)
class DecodingLimits:
    inline_max_bytes: int = 1024 * 1024
    max_bytes: int = 64 * 1024 * 1024  # bodies decoded at once, in body bytes
    max_waiters: int = 32
    max_wait: float = 10.0  # seconds a request waits for its share before 503


class Decoding:
    """One per app. `async with decoding.slot(size) as run:` then `await run(fn, *args)`."""

    def __init__(self, limits: DecodingLimits) -> None:
        self.limits = limits
        self.in_use = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    def inline(self, size: int) -> bool:
        """Whether a body of `size` bytes is decoded inline (`slot` then needs no await)."""
        return size <= self.limits.inline_max_bytes

    def slot(self, size: int) -> contextlib.AbstractAsyncContextManager[Runner]:
        if size <= self.limits.inline_max_bytes:
            return _INLINE_SLOT  # a plain object: a generator-based context manager costs µs
        return _SharedSlot(self, min(size, self.limits.max_bytes))  # over budget: runs alone

    async def _acquire(self, share: int) -> None:
        if not self._waiters and self.in_use + share <= self.limits.max_bytes:
            self.in_use += share
            return
        retry_after = max(1, math.ceil(self.limits.max_wait))
        if len(self._waiters) >= self.limits.max_waiters:
            raise Overloaded(
                f"too many large requests waiting to be decoded ({self.limits.max_waiters}); "
                "retry later",
                retry_after=retry_after,
            )
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (share, turn)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.limits.max_wait)
        except TimeoutError:
            if turn.done():  # granted just as the wait ended: keep it
                return
            self._waiters.remove(entry)
            self._wake()  # a smaller request behind this one may fit now
            raise Overloaded(
                f"waited {self.limits.max_wait:g} s for memory to decode a large request; "
                "retry later",
                retry_after=retry_after,
            ) from None
        except BaseException:
            if entry in self._waiters:
                self._waiters.remove(entry)
            elif turn.done():  # cancelled after being granted: hand the share back
                self.in_use -= share
                self._wake()
            raise

    def _wake(self) -> None:
        """Grant waiters in order while the first in line fits (no overtaking: no starvation)."""
        while self._waiters:
            share, turn = self._waiters[0]
            if self.in_use + share > self.limits.max_bytes:
                return
            self._waiters.popleft()
            self.in_use += share
            turn.set_result(None)


class _InlineSlot(contextlib.AbstractAsyncContextManager["Runner"]):
    async def __aenter__(self) -> Runner:
        return _inline

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _SharedSlot(contextlib.AbstractAsyncContextManager["Runner"]):
    """A share of the decoding budget, held from entry to exit."""

    def __init__(self, decoding: Decoding, share: int) -> None:
        self.decoding = decoding
        self.share = share

    async def __aenter__(self) -> Runner:
        await self.decoding._acquire(self.share)
        return _in_thread

    async def __aexit__(self, *exc_info: object) -> None:
        self.decoding.in_use -= self.share
        self.decoding._wake()


class Runner:
    """Runs `fn(*args, **kwargs)` inline or in a worker thread."""

    def __init__(self, *, thread: bool) -> None:
        self.thread = thread

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.thread:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)


_inline = Runner(thread=False)
_in_thread = Runner(thread=True)
_INLINE_SLOT = _InlineSlot()
