"""rounds.Rounds: a model's one worker thread steps every running generation in turn."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from kserve_server import rounds


def test_generations_take_a_step_each_in_turn_and_end_with_end() -> None:
    order: list[str] = []
    seen: queue.SimpleQueue[object] = queue.SimpleQueue()
    gate, started = threading.Event(), threading.Event()
    done = threading.Semaphore(0)

    def steps(name: str, count: int) -> Iterator[str]:
        if name == "a":
            started.set()
            gate.wait(5)  # a's first step lasts until b is submitted
        for i in range(count):
            order.append(f"{name}{i}")
            yield f"{name}{i}"

    work = rounds.Rounds("m")
    work.submit(steps("a", 3), post=seen.put, done=done.release)
    assert started.wait(5)
    work.submit(steps("b", 2), post=seen.put, done=done.release)
    gate.set()
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    # b joins at the round after its submission, then a token each, in turn
    assert order == ["a0", "a1", "b0", "a2", "b1"]
    posted = [seen.get_nowait() for _ in range(7)]
    assert posted.count(rounds.END) == 2 and seen.empty()


def test_an_exception_is_posted_and_the_others_go_on() -> None:
    seen: queue.SimpleQueue[object] = queue.SimpleQueue()
    done = threading.Semaphore(0)

    def broken() -> Iterator[str]:
        yield "x"
        raise ValueError("model broke")

    def fine() -> Iterator[str]:
        yield from ("1", "2", "3")

    work = rounds.Rounds("m")
    work.submit(broken(), post=seen.put, done=done.release)
    work.submit(fine(), post=seen.put, done=done.release)
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    posted = [seen.get_nowait() for _ in range(6)]
    assert seen.empty()
    errors = [p for p in posted if isinstance(p, ValueError)]
    assert [str(e) for e in errors] == ["model broke"]
    assert [p for p in posted if isinstance(p, str)] == ["x", "1", "2", "3"]
    assert posted.count(rounds.END) == 1  # the one that ended well
