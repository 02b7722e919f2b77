"""The OpenAI routes over a real socket, with a text model that spells words slowly (no torch
here: the transformers runtime is tested in tests/huggingface): a client leaving mid-stream
stops the generation, the routes follow KSERVE_OPENAI_ROUTE_PREFIX, and a model that is not a
text model is not one of the OpenAI API's models."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson

from kserve_server.rest import app as rest_app
from kserve_server.runtimes.generative import TextModel
from kserve_server.sampling import Sampling, Step
from kserve_server.settings import ModelSpec, ServerSettings

from .conftest import loaded


class Speller(TextModel):
    """Answers with the letters of the prompt over and over, one a `pause`."""

    def __init__(self, name: str, *, pause: float = 0.0) -> None:
        super().__init__(name)
        self.pause = pause
        self.max_model_len = 10_000
        self.stopped_early = threading.Event()

    def prompt_ids(self, prompt: str) -> list[int]:
        return [ord(c) for c in prompt]

    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        return self.prompt_ids(messages[-1]["content"])

    def generate(
        self, ids: list[int], sampling: Sampling, *, cancelled: threading.Event
    ) -> Iterator[Step]:
        limit = sampling.max_tokens or 10
        for n in range(1, limit + 1):
            if cancelled.is_set():
                self.stopped_early.set()
                return
            time.sleep(self.pause)
            yield Step(chr(ids[(n - 1) % len(ids)]), n, "length" if n == limit else None)


async def _serve(aiohttp_client: Any, model: TextModel, **settings: Any) -> Any:
    repository = await loaded([model])
    app = rest_app.create_app(ServerSettings(host="127.0.0.1", http_port=0, **settings), repository)
    return await aiohttp_client(app)


async def test_a_completion_and_its_stream(aiohttp_client: Any) -> None:
    client = await _serve(aiohttp_client, Speller("speller"))
    body = {"model": "speller", "prompt": "abc", "max_tokens": 5}
    resp = await client.post("/openai/v1/completions", json=body)
    got = await resp.json()
    assert got["choices"][0]["text"] == "abcab"
    assert got["choices"][0]["finish_reason"] == "length"
    assert got["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    resp = await client.post("/openai/v1/completions", json={**body, "stream": True})
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    events = (await resp.text()).split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    texts = [orjson.loads(e[6:])["choices"][0]["text"] for e in events[:-2]]
    # the first token goes at once; the ones made within the stream interval go together
    assert texts[0] == "a" and "".join(texts) == "abcab"


async def test_a_client_leaving_mid_stream_stops_the_generation(aiohttp_client: Any) -> None:
    speller = Speller("speller", pause=0.02)  # 1,000 letters: 20 s if nobody stops it
    client = await _serve(aiohttp_client, speller)
    body = {"model": "speller", "prompt": "abc", "max_tokens": 1000, "stream": True}
    async with aiohttp.ClientSession() as session:
        resp = await session.post(client.make_url("/openai/v1/completions"), json=body)
        assert (await resp.content.readline()).startswith(b"data: ")
        resp.close()  # drop the connection after the first token
    stopped = await asyncio.to_thread(speller.stopped_early.wait, 5)
    assert stopped, "the generation kept running after its client left"


async def test_the_route_prefix_follows_the_setting(aiohttp_client: Any) -> None:
    client = await _serve(aiohttp_client, Speller("speller"), openai_route_prefix="llm/api")
    resp = await client.get("/llm/api/v1/models")
    assert [m["id"] for m in (await resp.json())["data"]] == ["speller"]
    assert (await client.get("/openai/v1/models")).status == 404


async def test_a_predictive_model_is_not_an_openai_model(
    aiohttp_client: Any, iris_spec: ModelSpec
) -> None:
    repository = await loaded([iris_spec])
    app = rest_app.create_app(ServerSettings(host="127.0.0.1", http_port=0), repository)
    client = await aiohttp_client(app)
    assert (await (await client.get("/openai/v1/models")).json())["data"] == []
    resp = await client.post(
        "/openai/v1/chat/completions",
        json={"model": "sklearn-iris", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert (error["code"], error["param"]) == ("model_not_found", "model")
    resp = await client.get("/openai/v1/models/sklearn-iris")
    assert resp.status == 404 and (await resp.json())["error"]["type"] == "not_found_error"


async def test_token_counts_and_time_to_first_token_are_in_metrics(aiohttp_client: Any) -> None:
    client = await _serve(aiohttp_client, Speller("speller"))
    body = {"model": "speller", "prompt": "abc", "max_tokens": 5}
    assert (await client.post("/openai/v1/completions", json=body)).status == 200
    resp = await client.post("/openai/v1/completions", json={**body, "stream": True})
    await resp.read()
    chat = {"model": "speller", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    assert (await client.post("/openai/v1/chat/completions", json=chat)).status == 200
    text = await (await client.get("/metrics")).text()
    assert 'prompt_tokens_total{model_name="speller"} 8.0' in text  # 3 + 3 + 2
    assert 'completion_tokens_total{model_name="speller"} 12.0' in text  # 5 + 5 + 2
    assert 'time_to_first_token_seconds_count{model_name="speller"} 3.0' in text
