"""The OpenAI API's wire format: completions, chat completions, embeddings and the model list.

Request bodies become typed requests (a parameter we do not implement is refused, named, never
silently ignored); responses, stream chunks and error bodies are built as the OpenAI clients
read them. Server-sent events end with `data: [DONE]`. No HTTP server and no model here.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from kserve_server.errors import InvalidInput
from kserve_server.sampling import Sampling, TokenLogprob

DONE = b"data: [DONE]\n\n"
# Accepted and without effect here: they change nothing a single-user server does.
IGNORED = frozenset({"user", "service_tier", "store", "metadata"})


class OpenAIError(InvalidInput):
    """A request the OpenAI API would refuse: the message, and which parameter (if one)."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.param = param
        self.code = code


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    prompts: list[str]
    sampling: Sampling
    stream: bool = False
    include_usage: bool = False
    echo: bool = False


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, str]]
    sampling: Sampling
    stream: bool = False
    include_usage: bool = False


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    inputs: list[str]
    encoding_format: str = "float"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def body(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass
class Choice:
    index: int
    text: str = ""
    finish_reason: str | None = None  # "stop" | "length"
    logprobs: list[TokenLogprob] | None = None  # None: not asked for
    offset: int = 0  # characters before this text in the whole answer (completions' text_offset)


@dataclass
class _Reader:
    """Typed reads of one JSON object, each failure a 400 naming the parameter."""

    body: dict[str, Any]
    supported: frozenset[str]
    read: set[str] = field(default_factory=set)

    def check_unknown(self) -> None:
        for name in self.body:
            if name not in self.supported and name not in IGNORED:
                raise OpenAIError(f"parameter '{name}' is not supported", param=name)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.body.get(name)
        if value is None:
            return default
        # bool is an int in Python; JSON true is never a number here
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise OpenAIError(f"'{name}' must be {_kind(kind)}", param=name)
        if not isinstance(value, kind):
            raise OpenAIError(f"'{name}' must be {_kind(kind)}", param=name)
        return value

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = float(self.get(name, (int, float), default))
        if not low <= value <= high:
            raise OpenAIError(f"'{name}' must be between {low:g} and {high:g}", param=name)
        return value

    def positive(self, name: str, default: int | None, *, high: int = 1 << 20) -> int | None:
        value = self.get(name, int, default)
        if value is not None and not 1 <= value <= high:
            raise OpenAIError(f"'{name}' must be between 1 and {high}", param=name)
        return value  # type: ignore[no-any-return]


def _kind(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", float: "a number", str: "a string", bool: "a boolean"}
    names |= {list: "an array", dict: "an object"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def loads(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise OpenAIError(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise OpenAIError("the request body must be a JSON object")
    return body


SAMPLING = frozenset({"max_tokens", "temperature", "top_p", "stop", "n", "seed", "stream"})


def _sampling(reader: _Reader, *, max_tokens_name: str = "max_tokens") -> Sampling:
    stop = reader.get("stop", (str, list), ())
    stops = (stop,) if isinstance(stop, str) else tuple(stop)
    if not all(isinstance(s, str) and s for s in stops) or len(stops) > 4:
        raise OpenAIError("'stop' must be a non-empty string or up to 4 of them", param="stop")
    seed = reader.get("seed", int)
    return Sampling(
        max_tokens=reader.positive(max_tokens_name, None),
        temperature=reader.number("temperature", 1.0, low=0.0, high=2.0),
        top_p=reader.number("top_p", 1.0, low=0.0, high=1.0) or 1.0,
        stop=stops,
        n=reader.positive("n", 1, high=16) or 1,
        seed=seed,
    )


def _model(reader: _Reader) -> str:
    model = reader.get("model", str)
    if not model:
        raise OpenAIError("'model' is required", param="model")
    return str(model)


def _stream_options(reader: _Reader, stream: bool) -> bool:
    options = reader.get("stream_options", dict)
    if options is None:
        return False
    if not stream:
        raise OpenAIError("'stream_options' needs 'stream': true", param="stream_options")
    unknown = set(options) - {"include_usage"}
    if unknown:
        raise OpenAIError(
            f"stream_options.{sorted(unknown)[0]} is not supported", param="stream_options"
        )
    return bool(options.get("include_usage"))


def completion_request(body: dict[str, Any]) -> CompletionRequest:
    reader = _Reader(body, SAMPLING | {"model", "prompt", "stream_options", "echo", "logprobs"})
    reader.check_unknown()
    logprobs = reader.get("logprobs", int)
    if logprobs is not None and not 0 <= logprobs <= 5:
        raise OpenAIError("'logprobs' must be between 0 and 5", param="logprobs")
    prompt = reader.get("prompt", (str, list))
    if prompt is None:
        raise OpenAIError("'prompt' is required", param="prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not prompts or not all(isinstance(p, str) for p in prompts):
        raise OpenAIError("'prompt' must be a string or an array of strings", param="prompt")
    stream = bool(reader.get("stream", bool, False))
    return CompletionRequest(
        model=_model(reader),
        prompts=list(prompts),
        sampling=dataclasses.replace(_sampling(reader), logprobs=logprobs),
        stream=stream,
        include_usage=_stream_options(reader, stream),
        echo=bool(reader.get("echo", bool, False)),
    )


def chat_request(body: dict[str, Any]) -> ChatRequest:
    reader = _Reader(
        body,
        SAMPLING
        | {"model", "messages", "stream_options", "max_completion_tokens", "logprobs"}
        | {"top_logprobs"},
    )
    reader.check_unknown()
    top = reader.get("top_logprobs", int)
    if top is not None and not 0 <= top <= 20:
        raise OpenAIError("'top_logprobs' must be between 0 and 20", param="top_logprobs")
    if top is not None and not reader.get("logprobs", bool, False):
        raise OpenAIError("'top_logprobs' needs 'logprobs': true", param="top_logprobs")
    logprobs = (top or 0) if reader.get("logprobs", bool, False) else None
    raw = reader.get("messages", list)
    if not raw:
        raise OpenAIError("'messages' must be a non-empty array", param="messages")
    messages = [_message(m, i) for i, m in enumerate(raw)]
    stream = bool(reader.get("stream", bool, False))
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    return ChatRequest(
        model=_model(reader),
        messages=messages,
        sampling=dataclasses.replace(_sampling(reader, max_tokens_name=name), logprobs=logprobs),
        stream=stream,
        include_usage=_stream_options(reader, stream),
    )


def _message(raw: object, index: int) -> dict[str, str]:
    where = f"messages[{index}]"
    if not isinstance(raw, dict) or raw.get("role") not in (
        "system",
        "user",
        "assistant",
        "developer",
    ):
        raise OpenAIError(f"{where}.role must be system, developer, user or assistant", param=where)
    content = raw.get("content")
    if isinstance(content, list):  # content parts: text only
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise OpenAIError(f"{where}.content: only text parts are supported", param=where)
            texts.append(str(part.get("text", "")))
        content = "".join(texts)
    if not isinstance(content, str):
        raise OpenAIError(f"{where}.content must be a string", param=where)
    role = "system" if raw["role"] == "developer" else str(raw["role"])
    return {"role": role, "content": content}


def embedding_request(body: dict[str, Any]) -> EmbeddingRequest:
    reader = _Reader(body, frozenset({"model", "input", "encoding_format", "dimensions"}))
    reader.check_unknown()
    if "dimensions" in body:
        raise OpenAIError(
            "'dimensions' is not supported: the model's size is returned", param="dimensions"
        )
    value = reader.get("input", (str, list))
    inputs = [value] if isinstance(value, str) else value
    if not inputs or not all(isinstance(i, str) and i for i in inputs):
        raise OpenAIError("'input' must be a non-empty string or array of them", param="input")
    encoding = reader.get("encoding_format", str, "float")
    if encoding not in ("float", "base64"):
        raise OpenAIError("'encoding_format' must be float or base64", param="encoding_format")
    return EmbeddingRequest(model=_model(reader), inputs=list(inputs), encoding_format=encoding)


# responses


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def model_card(name: str, *, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "kserve"}


def model_list(names: list[str], *, created: int) -> dict[str, Any]:
    return {"object": "list", "data": [model_card(n, created=created) for n in names]}


def completion(
    request_id: str, model: str, choices: list[Choice], usage: Usage, *, created: int
) -> dict[str, Any]:
    return {
        "id": request_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": c.index,
                "text": c.text,
                "finish_reason": c.finish_reason,
                "logprobs": completion_logprobs(c),
            }
            for c in choices
        ],
        "usage": usage.body(),
    }


def chat_completion(
    request_id: str, model: str, choices: list[Choice], usage: Usage, *, created: int
) -> dict[str, Any]:
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": c.index,
                "message": {"role": "assistant", "content": c.text},
                "finish_reason": c.finish_reason,
                "logprobs": chat_logprobs(c),
            }
            for c in choices
        ],
        "usage": usage.body(),
    }


def completion_chunk(
    request_id: str, model: str, choice: Choice | None, *, created: int, usage: Usage | None = None
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": request_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": []
        if choice is None
        else [
            {
                "index": choice.index,
                "text": choice.text,
                "finish_reason": choice.finish_reason,
                "logprobs": completion_logprobs(choice),
            }
        ],
    }
    if usage is not None:
        chunk["usage"] = usage.body()
    return chunk


def chat_chunk(
    request_id: str,
    model: str,
    choice: Choice | None,
    *,
    created: int,
    first: bool = False,
    usage: Usage | None = None,
) -> dict[str, Any]:
    choices = []
    if choice is not None:
        delta: dict[str, str] = {"role": "assistant", "content": choice.text} if first else {}
        if not first and (choice.text or choice.finish_reason is None):
            delta["content"] = choice.text
        choices.append(
            {
                "index": choice.index,
                "delta": delta,
                "finish_reason": choice.finish_reason,
                "logprobs": chat_logprobs(choice),
            }
        )
    chunk: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage.body()
    return chunk


def completion_logprobs(choice: Choice) -> dict[str, Any] | None:
    """The legacy completions shape: parallel lists, top alternatives as {token: logprob}."""
    if choice.logprobs is None:
        return None
    offsets, at = [], choice.offset
    for entry in choice.logprobs:
        offsets.append(at)
        at += len(entry.token)
    return {
        "tokens": [e.token for e in choice.logprobs],
        "token_logprobs": [e.logprob for e in choice.logprobs],
        "top_logprobs": [dict(e.top) for e in choice.logprobs],
        "text_offset": offsets,
    }


def chat_logprobs(choice: Choice) -> dict[str, Any] | None:
    """The chat shape: one object per token, with its UTF-8 bytes and its top alternatives."""
    if choice.logprobs is None:
        return None

    def item(token: str, logprob: float) -> dict[str, Any]:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode())}

    return {
        "content": [
            {**item(e.token, e.logprob), "top_logprobs": [item(t, lp) for t, lp in e.top]}
            for e in choice.logprobs
        ],
        "refusal": None,
    }


def embeddings(
    model: str, vectors: list[list[float]], *, prompt_tokens: int, encoding_format: str
) -> dict[str, Any]:
    import base64
    import struct

    def encoded(vector: list[float]) -> list[float] | str:
        if encoding_format == "base64":  # little-endian float32, as the OpenAI client decodes it
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encoded(v)}
            for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def error_body(
    message: str, *, status: int, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def event(chunk: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return b"data: " + orjson.dumps(chunk) + b"\n\n"
