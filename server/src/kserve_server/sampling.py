"""What a text generation is asked for (Sampling) and what each of its steps adds (Step):
shared by the OpenAI wire format, the text runtimes and the generation threads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sampling:
    max_tokens: int | None = None  # None: what the context leaves after the prompt
    temperature: float = 1.0  # 0: greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    n: int = 1
    seed: int | None = None
    logprobs: int | None = None  # None: none; k: each token's log probability and the top k

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token: its text, its log probability, the k likeliest tokens' ones."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Step:
    text: str  # added since the previous step ("" while a character is incomplete)
    tokens: int  # completion tokens so far
    finish_reason: str | None = None  # set on the last step: "stop" or "length"
    logprobs: tuple[TokenLogprob, ...] = ()  # the tokens made since the previous step
