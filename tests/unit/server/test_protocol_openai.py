"""The OpenAI wire format: requests parsed or refused naming the parameter; response shapes."""

from __future__ import annotations

import base64
import struct
from typing import Any

import orjson
import pytest

from kserve_server.protocol import openai
from kserve_server.protocol.openai import Choice, OpenAIError, Usage
from kserve_server.sampling import Sampling


def test_a_completion_request_with_every_supported_parameter() -> None:
    req = openai.completion_request(
        {
            "model": "m",
            "prompt": ["a", "b"],
            "max_tokens": 5,
            "temperature": 0,
            "top_p": 0.5,
            "stop": "\n",
            "n": 2,
            "seed": 3,
            "stream": True,
            "stream_options": {"include_usage": True},
            "user": "ignored",
        }
    )
    assert req.prompts == ["a", "b"] and req.stream and req.include_usage
    assert req.sampling == Sampling(
        max_tokens=5, temperature=0.0, top_p=0.5, stop=("\n",), n=2, seed=3
    )
    assert req.sampling.greedy


def test_a_chat_request_reads_text_parts_and_max_completion_tokens() -> None:
    req = openai.chat_request(
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}],
                },
            ],
            "max_completion_tokens": 7,
        }
    )
    assert req.messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi there"},
    ]
    assert req.sampling.max_tokens == 7


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"model": "m", "prompt": "x", "logit_bias": {}}, "logit_bias", "not supported"),
        ({"model": "m", "prompt": "x", "temperature": 2.5}, "temperature", "between 0 and 2"),
        ({"model": "m", "prompt": "x", "max_tokens": 0}, "max_tokens", "between 1"),
        ({"model": "m", "prompt": "x", "max_tokens": True}, "max_tokens", "an integer"),
        ({"model": "m", "prompt": "x", "n": 17}, "n", "between 1 and 16"),
        ({"model": "m", "prompt": "x", "stop": ["a", ""]}, "stop", "non-empty"),
        ({"model": "m", "prompt": 5}, "prompt", "a string or an array"),
        ({"model": "m"}, "prompt", "required"),
        ({"prompt": "x"}, "model", "required"),
        (
            {"model": "m", "prompt": "x", "stream_options": {"include_usage": True}},
            "stream_options",
            "stream",
        ),
    ],
)
def test_completion_requests_refused_name_the_parameter(
    body: dict[str, Any], param: str, words: str
) -> None:
    with pytest.raises(OpenAIError, match=words) as caught:
        openai.completion_request(body)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ([], "non-empty array"),
        ([{"role": "tool", "content": "x"}], "role must be"),
        ([{"role": "user", "content": [{"type": "image_url"}]}], "only text parts"),
        ([{"role": "user", "content": 3}], "content must be a string"),
    ],
)
def test_chat_messages_refused(messages: list[Any], words: str) -> None:
    with pytest.raises(OpenAIError, match=words):
        openai.chat_request({"model": "m", "messages": messages})


def test_embedding_requests() -> None:
    req = openai.embedding_request({"model": "m", "input": "a", "encoding_format": "base64"})
    assert (req.inputs, req.encoding_format) == (["a"], "base64")
    with pytest.raises(OpenAIError, match="dimensions") as caught:
        openai.embedding_request({"model": "m", "input": "a", "dimensions": 8})
    assert caught.value.param == "dimensions"
    with pytest.raises(OpenAIError, match="input"):
        openai.embedding_request({"model": "m", "input": [1, 2]})


def test_a_body_that_is_not_a_json_object() -> None:
    with pytest.raises(OpenAIError, match="not valid JSON"):
        openai.loads(b"{")
    with pytest.raises(OpenAIError, match="JSON object"):
        openai.loads(b"[]")


def test_response_shapes() -> None:
    usage = Usage(prompt_tokens=3, completion_tokens=2)
    body = openai.chat_completion("chatcmpl-1", "m", [Choice(0, "hi", "stop")], usage, created=1)
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "hi"}
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    first = openai.chat_chunk("c", "m", Choice(0, ""), created=1, first=True)
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    last = openai.chat_chunk("c", "m", Choice(0, "", "length"), created=1)
    assert last["choices"][0]["delta"] == {} and last["choices"][0]["finish_reason"] == "length"
    usage_only = openai.completion_chunk("c", "m", None, created=1, usage=usage)
    assert usage_only["choices"] == [] and usage_only["usage"]["total_tokens"] == 5


def test_server_sent_events_and_error_bodies() -> None:
    assert openai.event({"a": 1}) == b'data: {"a":1}\n\n'
    assert openai.DONE == b"data: [DONE]\n\n"
    assert openai.error_body("bad", status=400, param="n") == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "n", "code": None}
    }
    assert openai.error_body("x", status=503)["error"]["type"] == "server_error"


def test_base64_embeddings_are_little_endian_float32() -> None:
    body = openai.embeddings("m", [[1.0, -2.5]], prompt_tokens=2, encoding_format="base64")
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert struct.unpack("<2f", raw) == (1.0, -2.5)
    assert orjson.loads(orjson.dumps(body))["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
