"""Request batching: items from concurrent requests joined into one model call, as upstream's
batcher does (flushed at `max_batch_size` items or `max_latency` after the first one waits), the
model's answer sliced back per request.

Unlike upstream, a batch the model fails on is not failed as a whole: each request of it is run
again alone, so only the request at fault fails (with the model's own error). Requests waiting
under different keys (model, route) never share a batch. Protocol-neutral: `Join` says how a
batch is built and split, `Call` runs one batch.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kserve_server.payload_settings import BatcherSettings

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")


class BatchMismatchError(Exception):
    """The model's answer cannot be split back (its length differs from the batch's)."""


@dataclass
class BatcherStats:
    batches: int = 0
    items: int = 0
    requests: int = 0
    retried_alone: int = 0  # requests run again alone after their batch failed


class Join(Generic[Req, Resp]):
    """How requests become one batch and the batch's answer becomes one answer each."""

    def size(self, request: Req) -> int:
        raise NotImplementedError

    def combine(self, requests: list[Req]) -> Req:
        raise NotImplementedError

    def split(self, response: Resp, sizes: list[int]) -> list[Resp]:
        """Raises BatchMismatchError when the answer does not have sum(sizes) items."""
        raise NotImplementedError


@dataclass
class _Waiting(Generic[Req, Resp]):
    request: Req
    size: int
    answer: asyncio.Future[tuple[Resp, str]]


@dataclass
class _Pending(Generic[Req, Resp]):
    waiting: list[_Waiting[Req, Resp]] = field(default_factory=list)
    items: int = 0
    timer: asyncio.TimerHandle | None = None


Call = Callable[[Hashable, Any], Awaitable[Any]]


class Batcher(Generic[Req, Resp]):
    def __init__(
        self,
        settings: BatcherSettings,
        *,
        join: Join[Req, Resp],
        call: Callable[[Hashable, Req], Awaitable[Resp]],
    ) -> None:
        self.settings = settings
        self.join = join
        self.call = call
        self.stats = BatcherStats()
        self._pending: dict[Hashable, _Pending[Req, Resp]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, key: Hashable, request: Req) -> tuple[Resp, str]:
        """This request's answer and the id of the batch it went in."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(request, self.join.size(request), loop.create_future())
        pending = self._pending.setdefault(key, _Pending())
        pending.waiting.append(waiting)
        pending.items += waiting.size
        self.stats.requests += 1
        if pending.items >= self.settings.max_batch_size:
            self._flush(key)
        elif pending.timer is None:
            pending.timer = loop.call_later(self.settings.max_latency, self._flush, key)
        return await waiting.answer

    def _flush(self, key: Hashable) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        task = asyncio.create_task(self._run(key, pending.waiting))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: Hashable, waiting: list[_Waiting[Req, Resp]]) -> None:
        self.stats.batches += 1
        self.stats.items += sum(w.size for w in waiting)
        batch_id = str(uuid.uuid4())
        if len(waiting) == 1:
            await self._alone(key, waiting[0], batch_id)
            return
        try:
            combined = self.join.combine([w.request for w in waiting])
            answers = self.join.split(await self.call(key, combined), [w.size for w in waiting])
        except Exception as exc:
            log.info(
                "batch %s of %d request(s) failed (%s); running each alone",
                batch_id,
                len(waiting),
                exc,
            )
            self.stats.retried_alone += len(waiting)
            await asyncio.gather(*(self._alone(key, w, str(uuid.uuid4())) for w in waiting))
            return
        for one, answer in zip(waiting, answers, strict=True):
            if not one.answer.done():
                one.answer.set_result((answer, batch_id))

    async def _alone(self, key: Hashable, waiting: _Waiting[Req, Resp], batch_id: str) -> None:
        try:
            answer = await self.call(key, waiting.request)
        except Exception as exc:
            if not waiting.answer.done():
                waiting.answer.set_exception(exc)
            return
        if not waiting.answer.done():
            waiting.answer.set_result((answer, batch_id))

    async def close(self) -> None:
        """Run what is waiting now, and wait for the batches in flight."""
        for key in list(self._pending):
            self._flush(key)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
