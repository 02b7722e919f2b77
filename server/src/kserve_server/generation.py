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
    queue: asyncio.Queue[object] = asyncio.Queue()
    cancelled = threading.Event()

    def post(item: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def done() -> None:  # the slot frees when the model is done, not when its reader leaves
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(model.generation_slots.release)

    await model.generation_slots.acquire()  # queued, never refused; a client gone leaves the line
    steps = model.generate(ids, sampling, cancelled=cancelled)
    model.rounds.submit(steps, post=post, done=done)
    try:
        while True:
            item = await queue.get()
            if item is rounds.END:
                return
            if isinstance(item, ServerError):
                raise item
            if isinstance(item, BaseException):
                raise InferenceError(f"{type(item).__name__}: {item}") from item
            assert isinstance(item, Step)
            yield item
    finally:
        cancelled.set()
