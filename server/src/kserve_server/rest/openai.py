"""The OpenAI-compatible API at /<prefix>/v1/... (upstream's KSERVE_OPENAI_ROUTE_PREFIX, default
`openai`): HTTP and server-sent events only; parsing is protocol/openai.py, the model runs
through generation.py. Errors have the OpenAI shape: {"error": {message, type, param, code}}.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from kserve_server import generation
from kserve_server.errors import ModelNotFound, ServerError, public_message
from kserve_server.protocol import openai
from kserve_server.protocol.openai import Choice, OpenAIError, Usage
from kserve_server.repository import ModelRepository
from kserve_server.rest import body, errors
from kserve_server.rest.body import BodyLimits
from kserve_server.rest.token_metrics import FirstToken, TokenMetrics
from kserve_server.runtimes.generative import TextModel
from kserve_server.sampling import Sampling, TokenLogprob

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COMPLETION_MAX_TOKENS = 16  # OpenAI's default for /completions; chat fills the context


def _json(value: dict[str, Any], *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


def _error(exc: BaseException) -> web.Response:
    status = errors.status_for(exc)
    param, code = getattr(exc, "param", None), getattr(exc, "code", None)
    if isinstance(exc, ModelNotFound):
        status, param, code = 404, "model", "model_not_found"
    return _json(
        openai.error_body(public_message(exc), status=status, param=param, code=code),
        status=status,
    )


def _errors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            if errors.status_for(exc) >= 500 and not isinstance(exc, ServerError):
                log.exception("request failed: %s %s", request.method, request.path)
            return _error(exc)

    return wrapped


class Endpoints:
    def __init__(
        self, repository: ModelRepository, *, body_limits: BodyLimits, metrics: TokenMetrics
    ) -> None:
        self.repository = repository
        self.body_limits = body_limits
        self.metrics = metrics

    def routes(self, prefix: str) -> list[web.RouteDef]:
        base = f"/{prefix.strip('/')}/v1"
        return [
            web.get(f"{base}/models", _errors(self.list_models)),
            web.get(f"{base}/models/{{model_name}}", _errors(self.get_model)),
            web.post(f"{base}/completions", _errors(self.completions)),
            web.post(f"{base}/chat/completions", _errors(self.chat_completions)),
            web.post(f"{base}/embeddings", _errors(self.embeddings)),
            web.post(f"{base}/rerank", _errors(self.rerank)),
        ]

    def _model(self, name: str, *, generates: bool) -> TextModel:
        try:
            model = generation.text_model(self.repository, name)
        except ModelNotFound as exc:
            raise OpenAIError(
                f"The model `{name}` does not exist", param="model", code="model_not_found"
            ) from exc
        if generates and not model.generates:
            raise OpenAIError(f"model {name} does not generate text", param="model")
        return model

    async def _body(self, request: web.Request) -> dict[str, Any]:
        return openai.loads(await body.read(request, self.body_limits))

    async def list_models(self, request: web.Request) -> web.Response:
        names = generation.text_models(self.repository)
        return _json(openai.model_list(names, created=openai.now()))

    async def get_model(self, request: web.Request) -> web.Response:
        name = request.match_info["model_name"]
        generation.text_model(self.repository, name)
        return _json(openai.model_card(name, created=openai.now()))

    async def rerank(self, request: web.Request) -> web.Response:
        message = "rerank is not available: this server serves no reranking model"
        return _json(openai.error_body(message, status=404), status=404)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        req = openai.completion_request(await self._body(request))
        model = self._model(req.model, generates=True)
        if req.echo and not model.echoes:
            raise OpenAIError("'echo' is not supported by encoder-decoder models", param="echo")
        first = self.metrics.clock(req.model)
        prompts = [await generation.run(lambda p=p: model.prompt_ids(p)) for p in req.prompts]  # type: ignore[misc]
        for ids in prompts:
            model.check_length(ids, param="prompt")
        sampling = req.sampling
        if sampling.max_tokens is None:
            sampling = dataclasses.replace(sampling, max_tokens=COMPLETION_MAX_TOKENS)
        jobs = [
            (i * sampling.n + j, ids, _nth(sampling, j), req.prompts[i] if req.echo else "")
            for i, ids in enumerate(prompts)
            for j in range(sampling.n)
        ]
        usage = Usage(prompt_tokens=sum(len(ids) for ids in prompts))
        rid, created = openai.new_id("cmpl"), openai.now()

        def chunk(choice: Choice | None, usage: Usage | None = None) -> dict[str, Any]:
            return openai.completion_chunk(rid, req.model, choice, created=created, usage=usage)

        return await self._answer(
            request,
            req.model,
            model,
            jobs,
            usage=usage,
            chunk=chunk,
            stream=req.stream,
            include_usage=req.include_usage,
            first=first,
            whole=lambda choices: openai.completion(
                rid, req.model, choices, usage, created=created
            ),
        )

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        req = openai.chat_request(await self._body(request))
        model = self._model(req.model, generates=True)
        first = self.metrics.clock(req.model)
        ids = await generation.run(lambda: model.chat_ids(req.messages))
        model.check_length(ids, param="messages")
        jobs = [(j, ids, _nth(req.sampling, j), "") for j in range(req.sampling.n)]
        usage = Usage(prompt_tokens=len(ids))
        rid, created = openai.new_id("chatcmpl"), openai.now()
        started: set[int] = set()

        def chunk(choice: Choice | None, usage: Usage | None = None) -> dict[str, Any]:
            first = choice is not None and choice.index not in started
            if choice is not None:
                started.add(choice.index)
            return openai.chat_chunk(
                rid, req.model, choice, created=created, first=first, usage=usage
            )

        return await self._answer(
            request,
            req.model,
            model,
            jobs,
            usage=usage,
            chunk=chunk,
            stream=req.stream,
            include_usage=req.include_usage,
            first=first,
            whole=lambda choices: openai.chat_completion(
                rid, req.model, choices, usage, created=created
            ),
        )

    async def _answer(
        self,
        request: web.Request,
        name: str,
        model: TextModel,
        jobs: list[tuple[int, list[int], Sampling, str]],
        *,
        usage: Usage,
        chunk: Callable[..., dict[str, Any]],
        stream: bool,
        include_usage: bool,
        first: FirstToken,
        whole: Callable[[list[Choice]], dict[str, Any]],
    ) -> web.StreamResponse:
        """Both generating endpoints' answer: server-sent chunks, or every job run to its end,
        its echo put first, the tokens counted and the body built by `whole`."""
        if stream:
            return await _stream(
                request,
                model,
                jobs,
                usage,
                chunk,
                include_usage=include_usage,
                first=first,
                metrics=self.metrics,
            )
        results = await asyncio.gather(
            *(_whole(model, index, ids, s, first=first) for index, ids, s, _ in jobs)
        )
        for (choice, _), (_, _, _, echo) in zip(results, jobs, strict=True):
            choice.text, choice.offset = echo + choice.text, len(echo)
        usage.completion_tokens = sum(tokens for _, tokens in results)
        self._count(name, usage)
        return _json(whole([c for c, _ in results]))

    def _count(self, model: str, usage: Usage) -> None:
        self.metrics.tokens(model, prompt=usage.prompt_tokens, completion=usage.completion_tokens)

    async def embeddings(self, request: web.Request) -> web.Response:
        req = openai.embedding_request(await self._body(request))
        model = self._model(req.model, generates=False)
        vectors, tokens = await generation.run(lambda: model.embed(req.inputs))
        return _json(
            openai.embeddings(
                req.model, vectors, prompt_tokens=tokens, encoding_format=req.encoding_format
            )
        )


def _nth(sampling: Sampling, j: int) -> Sampling:
    """The j-th of n choices: its own seed, so n seeded choices differ yet repeat."""
    if sampling.seed is None or j == 0:
        return sampling
    return dataclasses.replace(sampling, seed=sampling.seed + j)


async def _whole(
    model: TextModel, index: int, ids: list[int], sampling: Sampling, *, first: FirstToken
) -> tuple[Choice, int]:
    choice, tokens = Choice(index=index, logprobs=_asked(sampling)), 0
    async with contextlib.aclosing(generation.stream(model, ids, sampling)) as steps:
        async for step in steps:
            if step.tokens:
                first.seen()
            choice.text += step.text
            choice.finish_reason, tokens = step.finish_reason, step.tokens
            if choice.logprobs is not None:
                choice.logprobs.extend(step.logprobs)
    return choice, tokens


def _asked(sampling: Sampling) -> list[TokenLogprob] | None:
    return None if sampling.logprobs is None else []


async def _stream(
    request: web.Request,
    model: TextModel,
    jobs: list[tuple[int, list[int], Sampling, str]],
    usage: Usage,
    chunk: Callable[..., dict[str, Any]],
    *,
    include_usage: bool,
    first: FirstToken,
    metrics: TokenMetrics,
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    try:
        for index, ids, sampling, echo in jobs:
            if echo:
                await response.write(openai.event(chunk(Choice(index=index, text=echo))))
            async with contextlib.aclosing(generation.stream(model, ids, sampling)) as steps:
                tokens, offset = 0, len(echo)
                async for step in steps:
                    if step.tokens:
                        first.seen()
                    choice = Choice(
                        index=index,
                        text=step.text,
                        finish_reason=step.finish_reason,
                        logprobs=None if sampling.logprobs is None else list(step.logprobs),
                        offset=offset,
                    )
                    offset += sum(len(e.token) for e in step.logprobs)
                    if step.text or step.finish_reason or step.logprobs:
                        await response.write(openai.event(chunk(choice)))
                    tokens = step.tokens
            usage.completion_tokens += tokens
        if include_usage:
            await response.write(openai.event(chunk(None, usage)))
    except (ConnectionResetError, asyncio.CancelledError):
        log.info("%s: client left mid-stream; generation stopped", model.name)
        raise
    except Exception as exc:  # the stream has begun: the error is its last event
        if errors.status_for(exc) >= 500 and not isinstance(exc, ServerError):
            log.exception("stream failed: %s %s", request.method, request.path)
        status = errors.status_for(exc)
        await response.write(openai.event(openai.error_body(public_message(exc), status=status)))
    finally:  # what was generated counts, whether the client stayed or not
        metrics.tokens(model.name, prompt=usage.prompt_tokens, completion=usage.completion_tokens)
    await response.write(openai.DONE)
    await response.write_eof()
    return response
