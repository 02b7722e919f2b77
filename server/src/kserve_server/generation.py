"""Text generation off the event loop: the model's worker thread (rounds.py) steps each
generation in turn and hands its steps to the loop as they come, so many streams share the
server and health checks keep answering; leaving the iteration early (a client gone) stops the
generation at its next token.
A model runs at most `max_concurrent_generations` at once: the others wait for a slot, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable
from typing import TypeVar

from kserve_server import rounds
from kserve_server.errors import InferenceError, ModelNotFound, ServerError
from kserve_server.repository import ModelRepository
from kserve_server.runtimes.generative import TextModel
from kserve_server.sampling import Sampling, Step

T = TypeVar("T")
# After the first chunk, a stream's chunks go at most this often, each with the tokens made
# meanwhile (vLLM's stream interval): a chunk a token cost ~55 µs of event loop a token, GIL the
# model's worker waits for (the LLM bench cell, 1 stream: 0.86x the bare loop's tokens/s).
STREAM_INTERVAL_S = 0.002


def text_model(repository: ModelRepository, name: str) -> TextModel:
    """The ready text model called `name`: ModelNotFound for any other kind of model too."""
    model = repository.ready_model(name)
    if not isinstance(model, TextModel):
        raise ModelNotFound(name)
    return model


def text_models(repository: ModelRepository) -> list[str]:
    return [
        n
        for n in repository.names()
        if repository.is_ready(n) and isinstance(repository.entry(n).model, TextModel)
    ]


async def run(call: Callable[[], T]) -> T:
    """A blocking model call (tokenize, embed) in a worker thread; model errors as ours."""
    try:
        return await asyncio.to_thread(call)
    except ServerError:
        raise
    except Exception as exc:
        raise InferenceError(f"{type(exc).__name__}: {exc}") from exc


async def stream(
    model: TextModel, ids: list[int], sampling: Sampling
) -> AsyncGenerator[Step, None]:
    loop = asyncio.get_running_loop()
    inbox = _Inbox(loop)
    cancelled = threading.Event()

    def done() -> None:  # the slot frees when the model is done, not when its reader leaves
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(model.generation_slots.release)

    await model.generation_slots.acquire()  # queued, never refused; a client gone leaves the line
    steps = model.generate(ids, sampling, cancelled=cancelled)
    model.rounds.submit(steps, post=inbox.post, done=done)
    try:
        sent = 0.0  # when the last chunk went: the next waits out the stream interval
        while True:
            merged: Step | None = None
            await inbox.wait()
            if sent and (wait := sent + STREAM_INTERVAL_S - loop.time()) > 0:
                await asyncio.sleep(wait)  # the tokens of that time go as one chunk
            sent = loop.time()
            for item in inbox.take():
                if isinstance(item, Step):
                    merged = item if merged is None else _joined(merged, item)
                    continue
                if merged is not None:
                    yield merged
                if item is rounds.END:
                    return
                if isinstance(item, ServerError):
                    raise item
                assert isinstance(item, BaseException)
                raise InferenceError(f"{type(item).__name__}: {item}") from item
            if merged is not None:
                yield merged
    finally:
        cancelled.set()


class _Inbox:
    """Steps from the worker thread to the loop: one wake-up for all that arrived meanwhile, so
    a loop that falls behind (the worker holds the GIL most of the time) catches up in one
    chunk instead of paying a wake-up, a chunk and a write per token."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: list[object] = []
        self._lock = threading.Lock()
        self._ready = asyncio.Event()
        self._woken = False

    def post(self, item: object) -> None:
        with self._lock:
            self._items.append(item)
            if self._woken:
                return
            self._woken = True
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
            self._loop.call_soon_threadsafe(self._ready.set)

    async def wait(self) -> None:
        await self._ready.wait()

    def take(self) -> list[object]:
        with self._lock:
            items, self._items = self._items, []
            self._ready.clear()
            self._woken = False
        return items


def _joined(first: Step, then: Step) -> Step:
    return Step(
        text=first.text + then.text,
        tokens=then.tokens,
        finish_reason=then.finish_reason,
        logprobs=first.logprobs + then.logprobs,
    )
