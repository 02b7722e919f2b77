"""The OpenAI-compatible API with the official `openai` client (and curl for the raw stream),
against a tiny GPT-2: greedy answers equal transformers' own `generate` on the same files."""

from __future__ import annotations

import base64
import math
import struct
import subprocess
import threading
import urllib.request
from typing import Any

import openai
import pytest
import torch

from conftest import NAME, Reference

PROMPT = "the quick brown"
MESSAGES = [{"role": "user", "content": "what is the capital of france?"}]


@pytest.fixture(scope="module")
def client(served: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=served, api_key="unused", max_retries=0, timeout=60)


def test_models_are_listed_and_retrieved(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [NAME]
    card = client.models.retrieve(NAME)
    assert (card.id, card.object, card.owned_by) == (NAME, "model", "kserve")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_a_greedy_completion_is_transformers_generate(
    client: openai.OpenAI, reference: Reference
) -> None:
    got = client.completions.create(model=NAME, prompt=PROMPT, max_tokens=12, temperature=0)
    ids = reference.tokenizer(PROMPT)["input_ids"]
    text, tokens = reference.greedy(ids, 12)
    assert got.choices[0].text == text
    assert got.choices[0].finish_reason == ("length" if tokens == 12 else "stop")
    assert got.usage is not None
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (len(ids), tokens)
    assert got.object == "text_completion" and got.model == NAME


def test_a_chat_completion_uses_the_chat_template(
    client: openai.OpenAI, reference: Reference
) -> None:
    got = client.chat.completions.create(
        model=NAME,
        messages=MESSAGES,
        max_tokens=10,
        temperature=0,  # type: ignore[arg-type]
    )
    ids = reference.chat_ids(MESSAGES)
    text, tokens = reference.greedy(ids, 10)
    assert got.choices[0].message.role == "assistant"
    assert got.choices[0].message.content == text
    assert got.usage is not None and got.usage.prompt_tokens == len(ids)
    assert got.usage.completion_tokens == tokens


def test_a_streamed_chat_sends_the_same_text_in_chunks(
    client: openai.OpenAI, reference: Reference
) -> None:
    stream = client.chat.completions.create(
        model=NAME,
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=40,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    expected, tokens = reference.greedy(reference.chat_ids(MESSAGES), 40)
    assert text == expected
    finished = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finished[-1] in ("stop", "length") and set(finished[:-1]) == {None}
    assert len([c for c in chunks if c.choices]) >= 3  # as it goes, not one lump
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None and usage.completion_tokens == tokens


def test_the_raw_stream_is_server_sent_events_ending_with_done(served: str) -> None:
    body = f'{{"model": "{NAME}", "prompt": "{PROMPT}", "max_tokens": 5, "stream": true}}'
    out = subprocess.run(
        [
            "curl",
            "-sN",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            f"{served}/completions",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    events = [e for e in out.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert '"object":"text_completion"' in events[0]


def test_stop_strings_end_the_text_before_them(client: openai.OpenAI, reference: Reference) -> None:
    full, _ = reference.greedy(reference.chat_ids(MESSAGES), 10)
    middle = len(full) // 2
    stop = full[middle : middle + 2]  # multi-byte characters (é) on the way
    got = client.chat.completions.create(
        model=NAME,
        messages=MESSAGES,
        max_tokens=10,
        temperature=0,
        stop=stop,  # type: ignore[arg-type]
    )
    assert got.choices[0].message.content == full[: full.index(stop)]
    assert got.choices[0].message.content
    assert got.choices[0].finish_reason == "stop"


def test_a_seed_repeats_a_sampled_answer_and_n_gives_n_choices(client: openai.OpenAI) -> None:
    def sample() -> list[str]:
        got = client.completions.create(
            model=NAME, prompt=PROMPT, max_tokens=8, temperature=1.0, top_p=0.9, seed=7, n=3
        )
        assert [c.index for c in got.choices] == [0, 1, 2]
        return [c.text for c in got.choices]

    first = sample()
    assert sample() == first
    assert len(set(first)) > 1  # each choice has its own seed


def test_embeddings_are_the_normalized_mean_of_the_last_hidden_state(
    client: openai.OpenAI, reference: Reference
) -> None:
    texts = ["hello world", "the lazy dog"]
    got = client.embeddings.create(model=NAME, input=texts)  # the client asks for base64
    for text, item in zip(texts, got.data, strict=True):
        ids = reference.tokenizer(text)["input_ids"]
        with torch.inference_mode():
            hidden = reference.model(torch.tensor([ids]), output_hidden_states=True)
        mean = hidden.hidden_states[-1][0].mean(dim=0)
        expected = torch.nn.functional.normalize(mean, dim=0).tolist()
        assert item.embedding == pytest.approx(expected, abs=1e-5)
        assert math.isclose(sum(v * v for v in item.embedding), 1.0, rel_tol=1e-4)
    raw = client.embeddings.create(model=NAME, input="hello world", encoding_format="float")
    assert len(raw.data[0].embedding) == 32
    assert got.usage.prompt_tokens == sum(len(reference.tokenizer(t)["input_ids"]) for t in texts)


def _bad(call: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as caught:
        call()
    assert isinstance(caught.value.body, dict)
    return caught.value.body


def test_errors_are_openai_error_bodies_naming_the_problem(client: openai.OpenAI) -> None:
    long = " ".join(["kubernetes"] * 80)
    body = _bad(lambda: client.completions.create(model=NAME, prompt=long, max_tokens=4))
    assert "maximum context length is 64 tokens" in body["message"]
    assert body["param"] == "prompt" and body["type"] == "invalid_request_error"
    body = _bad(lambda: client.completions.create(model="gpt-17", prompt="x"))
    assert body["code"] == "model_not_found" and "gpt-17" in body["message"]
    body = _bad(lambda: client.completions.create(model=NAME, prompt="x", logit_bias={"1": 5}))
    assert body["param"] == "logit_bias" and "not supported" in body["message"]
    body = _bad(
        lambda: client.chat.completions.create(
            model=NAME,
            messages=MESSAGES,
            temperature=3,  # type: ignore[arg-type]
        )
    )
    assert body["param"] == "temperature"


def test_rerank_is_a_404_that_says_why(served: str) -> None:
    request = urllib.request.Request(f"{served}/rerank", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 404
    assert b"rerank is not available" in caught.value.read()


def test_eight_concurrent_streams_each_get_their_answer(
    client: openai.OpenAI, reference: Reference, served: str
) -> None:
    prompts = [f"{PROMPT} {i}" for i in range(8)]
    results: dict[int, str] = {}

    def one(i: int) -> None:
        stream = client.completions.create(
            model=NAME, prompt=prompts[i], max_tokens=20, temperature=0, stream=True
        )
        results[i] = "".join(c.choices[0].text for c in stream if c.choices)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    live = served.replace("/openai/v1", "/v2/health/live")
    assert urllib.request.urlopen(live, timeout=5).status == 200  # the loop stays free
    for t in threads:
        t.join(120)
    for i, prompt in enumerate(prompts):
        expected, _ = reference.greedy(reference.tokenizer(prompt)["input_ids"], 20)
        assert results[i] == expected


def test_base64_embeddings_are_little_endian_float32(served: str) -> None:
    import json

    request = urllib.request.Request(
        f"{served}/embeddings",
        data=json.dumps({"model": NAME, "input": "hi", "encoding_format": "base64"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    body = json.loads(urllib.request.urlopen(request, timeout=30).read())
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert len(struct.unpack(f"<{len(raw) // 4}f", raw)) == 32


def reference_logprobs(reference: Reference, ids: list[int], steps: int) -> list[list[float]]:
    """Per generated token, the model's log probabilities over the vocabulary (greedy)."""
    with torch.inference_mode():
        out = reference.model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=steps,
            do_sample=False,
            output_logits=True,
            return_dict_in_generate=True,
            pad_token_id=reference.tokenizer.eos_token_id,
        )
    return [torch.log_softmax(step[0].float(), dim=-1).tolist() for step in out.logits]


def test_logprobs_are_the_models_own_for_each_token(
    client: openai.OpenAI, reference: Reference
) -> None:
    got = client.completions.create(
        model=NAME, prompt=PROMPT, max_tokens=6, temperature=0, logprobs=2
    )
    logprobs = got.choices[0].logprobs
    assert logprobs is not None and logprobs.token_logprobs is not None
    expected = reference_logprobs(reference, reference.tokenizer(PROMPT)["input_ids"], 6)
    assert len(logprobs.token_logprobs) == got.usage.completion_tokens  # type: ignore[union-attr]
    for lp, row in zip(logprobs.token_logprobs, expected, strict=False):
        assert lp == pytest.approx(max(row), abs=1e-4)  # greedy: the likeliest token
    assert logprobs.top_logprobs is not None
    assert all(len(top) <= 2 for top in logprobs.top_logprobs)
    assert "".join(logprobs.tokens or []) == got.choices[0].text
    assert logprobs.text_offset is not None and logprobs.text_offset[0] == 0

    stream = client.chat.completions.create(
        model=NAME,
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=6,
        temperature=0,
        stream=True,
        logprobs=True,
        top_logprobs=3,
    )
    content = [
        item
        for c in stream
        if c.choices and c.choices[0].logprobs
        for item in c.choices[0].logprobs.content or []
    ]
    expected = reference_logprobs(reference, reference.chat_ids(MESSAGES), 6)
    assert content and len(content) <= 6
    for item, row in zip(content, expected, strict=False):
        assert item.logprob == pytest.approx(max(row), abs=1e-4)
        assert len(item.top_logprobs) == 3 and item.top_logprobs[0].token == item.token
        assert item.bytes == list(item.token.encode())
    body = _bad(lambda: client.completions.create(model=NAME, prompt=PROMPT, logprobs=9))
    assert body["param"] == "logprobs"
