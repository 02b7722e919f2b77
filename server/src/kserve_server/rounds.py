"""One thread per model steps every running generation in turn, a token each.

A thread per generation made them fight for the GIL: a stream arriving while seven others
decode waited 100-200 ms for its first token (each torch op that releases the GIL queued it
again behind the others), against 10 ms when they start together. Here the model's one worker
thread takes a step of each running generation in turn, and a new one joins the next round:
its first token waits for one round, not for a convoy. The event loop is the only other thread
that wants the GIL. At most `limit` run at once (the caller holds a slot for each).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Post = Callable[[object], None]
END = object()


@dataclass
class _Job:
    steps: Iterator[object]
    post: Post  # each step, then END or the exception that ended it
    done: Callable[[], None]  # the generation is over (its slot frees)


class Rounds:
    def __init__(self, name: str) -> None:
        self.name = name
        self._new: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, steps: Iterator[object], *, post: Post, done: Callable[[], None]) -> None:
        self._new.put(_Job(steps, post, done))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"generate-{self.name}", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        running: list[_Job] = []
        while True:
            if not running:
                running.append(self._new.get())  # idle: wait for work
            while not self._new.empty():
                running.append(self._new.get_nowait())
            for job in list(running):
                if not self._step(job):
                    running.remove(job)
                    job.done()

    @staticmethod
    def _step(job: _Job) -> bool:
        """One step of a job; False once it has ended (END or its exception posted)."""
        try:
            job.post(next(job.steps))
        except StopIteration:
            job.post(END)
            return False
        except BaseException as exc:
            job.post(exc)
            return False
        return True
