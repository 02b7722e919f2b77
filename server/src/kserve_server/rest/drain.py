"""Requests in flight, counted, so a SIGTERM waits for exactly them and no longer.

aiohttp's own shutdown stops reading every connection at once: a request whose body is still
arriving then never completes, and the process sits out the whole grace period. Instead the
server stops listening, lets in-flight requests (bodies included) finish while their
connections keep reading, answers them with `Connection: close`, and stops when the count
reaches zero (see server.py).

An idle keep-alive connection is the exception: closing it races a client sending on it at
that instant (its request is lost, and a POST is not retried). So open connections are kept a
moment longer (`linger`): a client's next request on one is answered, with `Connection: close`,
and the client takes its following request to another pod.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

LINGER_POLL = 0.02  # seconds


class Drain:
    def __init__(self) -> None:
        self.in_flight = 0
        self.draining = False
        # set when nothing is in flight, while `wait` waits: a small request is answered before
        # the next one starts, and setting and clearing an asyncio.Event each cost a call
        self._idle = asyncio.Event()
        self._waiting = False

    def enter(self) -> None:
        """A request started (middleware.py); `leave()` when it is answered."""
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self._waiting:
            self._idle.set()

    def begin(self) -> None:
        self.draining = True

    async def wait(self, grace: float) -> bool:
        """Whether every request in flight finished within `grace` seconds."""
        await asyncio.sleep(0)  # a request whose headers just arrived starts its handler
        if self.in_flight == 0:
            return True
        self._idle.clear()
        self._waiting = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return False
        finally:
            self._waiting = False
        return True

    async def linger(self, open_connections: Callable[[], int], seconds: float) -> None:
        """Until no connection is open and nothing is in flight, or `seconds` passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        # aiohttp sets no event when a connection closes: poll
        while (open_connections() or self.in_flight) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(LINGER_POLL)
