"""The keyed work queue: de-duplication, one worker per key, backoff, delayed requeue."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from kserve_controller.queue import WorkQueue


@contextlib.asynccontextmanager
async def running(
    handler: Callable[[str], Awaitable[float | None]], **kw: float
) -> AsyncIterator[WorkQueue[str]]:
    queue: WorkQueue[str] = WorkQueue(handler, **kw)  # type: ignore[arg-type]
    task = asyncio.create_task(queue.run())
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_keys_added_while_waiting_run_once() -> None:
    seen: list[str] = []

    async def handle(key: str) -> None:
        seen.append(key)

    queue: WorkQueue[str] = WorkQueue(handle, workers=2)
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    assert queue.depth == 2
    task = asyncio.create_task(queue.run())
    await asyncio.wait_for(queue.wait_idle(), 5)
    task.cancel()
    assert sorted(seen) == ["a", "b"]


async def test_one_key_never_runs_twice_at_once_but_reruns_after() -> None:
    active = 0
    most = 0
    runs = 0
    gate = asyncio.Event()

    async def handle(key: str) -> None:
        nonlocal active, most, runs
        active += 1
        most = max(most, active)
        runs += 1
        await gate.wait()
        active -= 1

    async with running(handle, workers=4) as queue:
        queue.add("a")
        await asyncio.sleep(0.05)
        queue.add("a")  # arrives while "a" is being processed
        queue.add("a")
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.wait_for(queue.wait_idle(), 5)
    assert most == 1
    assert runs == 2  # once more for the changes seen meanwhile, not twice more


async def test_bounded_concurrency() -> None:
    active = 0
    most = 0

    async def handle(key: str) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.02)
        active -= 1

    async with running(handle, workers=3) as queue:
        for i in range(12):
            queue.add(str(i))
        await asyncio.wait_for(queue.wait_idle(), 5)
    assert most == 3


async def test_failures_back_off_exponentially_and_success_resets() -> None:
    times: list[float] = []
    loop = asyncio.get_running_loop()

    async def handle(key: str) -> None:
        times.append(loop.time())
        if len(times) < 4:
            raise RuntimeError("apiserver said no")

    errors: list[str] = []
    async with running(handle, workers=1, backoff_base=0.05) as queue:
        queue._on_error = lambda key, err: errors.append(str(err))
        queue.add("a")
        await asyncio.wait_for(queue.wait_idle(), 5)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4 and errors == ["apiserver said no"] * 3
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.195


async def test_handler_can_ask_for_a_later_run() -> None:
    runs = 0

    async def handle(key: str) -> float | None:
        nonlocal runs
        runs += 1
        return 0.05 if runs == 1 else None

    async with running(handle, workers=1) as queue:
        queue.add("a")
        await asyncio.sleep(0.01)
        assert runs == 1
        await asyncio.wait_for(queue.wait_idle(), 5)
    assert runs == 2


# Far apart, so a loaded machine's late timer cannot pass for the later delay.
@pytest.mark.parametrize("delays", [[2.0, 0.05], [0.05, 2.0]])
async def test_the_earliest_of_two_delays_wins(delays: list[float]) -> None:
    loop = asyncio.get_running_loop()
    ran: list[float] = []

    async def handle(key: str) -> None:
        ran.append(loop.time())

    async with running(handle, workers=1) as queue:
        start = loop.time()
        for d in delays:
            queue.add("a", after=d)
        await asyncio.wait_for(queue.wait_idle(), 5)
    assert len(ran) == 1 and ran[0] - start < 1.0
