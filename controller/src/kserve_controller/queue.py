"""A keyed work queue: de-duplicated, one worker per key at a time, bounded concurrency.

A key added while it waits is queued once; added while it is being processed, it runs once
more afterwards (never twice at the same time). A failing key is retried with exponential
backoff; a handler may also ask for a later run by returning a delay in seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
Handler = Callable[[K], Awaitable[float | None]]


class WorkQueue(Generic[K]):
    def __init__(
        self,
        handler: Handler[K],
        *,
        workers: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 120.0,
        on_error: Callable[[K, Exception], None] | None = None,
    ) -> None:
        self._handler = handler
        self._workers = workers
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._on_error = on_error
        self._ready: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._dirty: set[K] = set()
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._failures: dict[K, int] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def depth(self) -> int:
        """Keys waiting to run now (not counting delayed retries)."""
        return len(self._queued)

    @property
    def idle(self) -> bool:
        """Nothing queued, running or scheduled."""
        return self._idle.is_set()

    def add(self, key: K, *, after: float = 0.0) -> None:
        if after > 0:
            self._add_later(key, after)
            return
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer[1].cancel()
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._idle.clear()
            self._ready.put_nowait(key)

    def _add_later(self, key: K, after: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + after
        current = self._timers.get(key)
        if current is not None and current[0] <= due:
            return
        if current is not None:
            current[1].cancel()
        self._idle.clear()
        self._timers[key] = (due, loop.call_at(due, self._fire, key))

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)
        self._check_idle()

    async def run(self) -> None:
        """Run the workers until cancelled."""
        tasks = [asyncio.create_task(self._worker()) for _ in range(self._workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for _, timer in self._timers.values():
                timer.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Until nothing is queued, running or scheduled (for shutdown and tests)."""
        await self._idle.wait()

    async def _worker(self) -> None:
        while True:
            key = await self._ready.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                delay = await self._handler(key)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                delay = min(self._backoff_base * 2 ** (failures - 1), self._backoff_max)
                if self._on_error is not None:
                    self._on_error(key, err)
            else:
                self._failures.pop(key, None)
            finally:
                self._active.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self.add(key)
            elif delay is not None:
                self.add(key, after=delay)
            self._check_idle()

    def _check_idle(self) -> None:
        if not (self._queued or self._active or self._timers):
            self._idle.set()
