"""What a text model offers the OpenAI-compatible API: tokenize, generate step by step, embed.

Every call is blocking (model code); the generation module runs them in threads. A generation
yields the text it adds at each step, so a stream can send it as it comes and stop when the
client leaves (`cancelled`). At most `max_concurrent_generations` run at once (generation.py
queues the others on `generation_slots`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

from kserve_server import rounds
from kserve_server.errors import InvalidInput
from kserve_server.inference import Request, Response
from kserve_server.runtimes.base import Model
from kserve_server.sampling import Sampling, Step


class TextModel(Model):
    """A model served through /openai/v1: text generation, embeddings, or both."""

    max_model_len: int = 0
    generates: bool = True
    embeds: bool = False
    echoes: bool = True  # /completions' `echo` (an encoder-decoder's answer never holds its prompt)

    def __init__(self, name: str, *, max_concurrent_generations: int = 16) -> None:
        super().__init__(name)
        self.generation_slots = asyncio.Semaphore(max_concurrent_generations)
        self.rounds = rounds.Rounds(name)  # the one thread that runs this model's generations

    def predict(self, request: Request) -> Response:
        raise NotImplementedError(
            f"Model {self.name} is a text model: use the OpenAI-compatible API under /openai/v1"
        )

    def prompt_ids(self, prompt: str) -> list[int]:
        raise InvalidInput(f"model {self.name} does not generate text")

    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The conversation through the model's chat template, ready for the reply."""
        raise InvalidInput(f"model {self.name} does not generate text")

    def generate(
        self, ids: list[int], sampling: Sampling, *, cancelled: threading.Event
    ) -> Iterator[Step]:
        raise InvalidInput(f"model {self.name} does not generate text")

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """One vector per text, and the tokens read."""
        raise InvalidInput(f"model {self.name} does not make embeddings")

    def check_length(self, ids: list[int], *, param: str) -> None:
        if self.max_model_len and len(ids) >= self.max_model_len:
            raise PromptTooLong(
                f"This model's maximum context length is {self.max_model_len} tokens; the "
                f"{param} has {len(ids)} tokens, which leaves none to generate",
                param=param,
            )


class PromptTooLong(InvalidInput):
    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.param = param
