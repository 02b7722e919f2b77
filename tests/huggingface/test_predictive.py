"""The predictive tasks over V1 and V2 with upstream's response shapes, and text2text generation,
against tiny BERTs and a tiny BART made by the test: each answer equals what transformers
computes from the same files."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import torch
import transformers
from tiny_models import build_bart, build_berts

from conftest import CORPUS
from kserve_server.hf_settings import HuggingFaceOptions
from kserve_server.settings import ModelSpec

TEXTS = ["the quick brown fox", "hello world, how are you today?"]
MASKED = ["the quick [MASK] fox", "a model [MASK] answers requests"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("predictive")
    made = build_berts(root, CORPUS)
    made["tiny-bart"] = build_bart(root, transformers.AutoTokenizer.from_pretrained(model_dir))
    return made


@pytest.fixture(scope="module")
def base(server_thread: Any, models: dict[str, Path]) -> Iterator[str]:
    def spec(name: str, path: Path, **options: Any) -> ModelSpec:
        return ModelSpec(
            name=name,
            model_dir=path,
            framework="huggingface",
            huggingface=HuggingFaceOptions(**options),
        )

    specs = [
        spec("bert-seq", models["bert-seq"]),
        spec("bert-seq-p", models["bert-seq"], return_probabilities=True),
        spec("bert-tok", models["bert-tok"], return_offsets_mapping=True),
        spec("bert-mlm", models["bert-mlm"]),
        spec("bert-emb", models["bert-emb"], task="text_embedding"),
        spec("tiny-bart", models["tiny-bart"]),
    ]
    with server_thread(specs) as running:
        yield f"http://127.0.0.1:{running.port}"


def post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def v1(base: str, name: str, texts: list[str]) -> Any:
    return post(f"{base}/v1/models/{name}:predict", {"instances": texts})["predictions"]


def v2(base: str, name: str, texts: list[str]) -> dict[str, Any]:
    tensor = {"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}
    outputs = post(f"{base}/v2/models/{name}/infer", {"inputs": [tensor]})["outputs"]
    return {o["name"]: o for o in outputs}


def logits(path: Path, auto: str, texts: list[str]) -> tuple[Any, Any]:
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = getattr(transformers, auto).from_pretrained(path).eval()
    batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=64)
    with torch.inference_mode():
        out = model(**batch)
    return out, batch


def test_sequence_classification_answers_label_indices_v1_and_v2(
    base: str, models: dict[str, Path]
) -> None:
    out, _ = logits(models["bert-seq"], "AutoModelForSequenceClassification", TEXTS)
    expected = out.logits.argmax(dim=-1).tolist()
    assert v1(base, "bert-seq", TEXTS) == expected
    tensor = v2(base, "bert-seq", TEXTS)["output-0"]
    assert (tensor["datatype"], tensor["shape"], tensor["data"]) == ("INT64", [2], expected)


def test_return_probabilities_gives_each_label_its_probability(
    base: str, models: dict[str, Path]
) -> None:
    out, _ = logits(models["bert-seq"], "AutoModelForSequenceClassification", TEXTS)
    probs = torch.softmax(out.logits, dim=-1).tolist()
    got = v1(base, "bert-seq-p", TEXTS)
    assert got == [{str(j): round(p, 4) for j, p in enumerate(row)} for row in probs]
    tensor = v2(base, "bert-seq-p", TEXTS)["output-0"]
    assert (tensor["datatype"], tensor["shape"]) == ("FP32", [2, 3])
    assert tensor["data"] == pytest.approx([p for row in probs for p in row], abs=1e-4)


def test_token_classification_labels_each_token_with_offsets_in_v2(
    base: str, models: dict[str, Path]
) -> None:
    out, batch = logits(models["bert-tok"], "AutoModelForTokenClassification", TEXTS)
    expected = [[row.argmax(dim=-1).tolist()] for row in out.logits]  # upstream's [[...]]
    assert v1(base, "bert-tok", TEXTS) == expected
    outputs = v2(base, "bert-tok", TEXTS)
    seq = batch["input_ids"].shape[1]
    assert outputs["output-0"]["shape"] == [2, 1, seq]
    assert outputs["offset_mapping"]["shape"] == [2, seq, 2]
    assert outputs["offset_mapping"]["data"][2:4] == [0, 3]  # "the": characters 0 to 3


def test_fill_mask_answers_the_masked_word(base: str, models: dict[str, Path]) -> None:
    out, batch = logits(models["bert-mlm"], "AutoModelForMaskedLM", MASKED)
    tokenizer = transformers.AutoTokenizer.from_pretrained(models["bert-mlm"])
    expected = []
    for row, ids in zip(out.logits, batch["input_ids"], strict=True):
        at = (ids == tokenizer.mask_token_id).nonzero(as_tuple=True)[0]
        expected.append(tokenizer.decode(row[at].argmax(dim=-1)))
    assert v1(base, "bert-mlm", MASKED) == expected
    tensor = v2(base, "bert-mlm", MASKED)["output-0"]
    assert (tensor["datatype"], tensor["data"]) == ("BYTES", expected)


def test_text_embedding_over_v1_v2_and_openai_is_the_masked_mean(
    base: str, models: dict[str, Path]
) -> None:
    out, batch = logits(models["bert-emb"], "AutoModel", TEXTS)
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (out.last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1)
    expected = torch.nn.functional.normalize(mean, dim=1).tolist()
    got = v1(base, "bert-emb", TEXTS)
    assert [pytest.approx(row, abs=1e-5) for row in expected] == got
    tensor = v2(base, "bert-emb", TEXTS)["output-0"]
    assert (tensor["datatype"], tensor["shape"]) == ("FP32", [2, 32])
    client = openai.OpenAI(base_url=f"{base}/openai/v1", api_key="-", max_retries=0)
    answer = client.embeddings.create(model="bert-emb", input=TEXTS, encoding_format="float")
    assert [d.embedding for d in answer.data] == [pytest.approx(r, abs=1e-5) for r in expected]
    assert answer.usage.prompt_tokens == int(batch["attention_mask"].sum())
    with pytest.raises(openai.BadRequestError, match="does not generate text"):
        client.completions.create(model="bert-emb", prompt="hello")


def test_a_v1_request_of_numbers_is_a_400_naming_texts(base: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        v1(base, "bert-seq", [[1, 2, 3]])  # type: ignore[list-item]
    assert caught.value.code == 400
    assert b"reads texts" in caught.value.read()


def test_text2text_generation_is_bart_generate(base: str, models: dict[str, Path]) -> None:
    path = models["tiny-bart"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(path).eval()
    prompt = "the quick brown"
    ids = tokenizer(prompt)["input_ids"]
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False)
    new = out[0, 1:].tolist()  # after the decoder start token
    if tokenizer.eos_token_id in new:
        new = new[: new.index(tokenizer.eos_token_id)]
    client = openai.OpenAI(base_url=f"{base}/openai/v1", api_key="-", max_retries=0)
    got = client.completions.create(model="tiny-bart", prompt=prompt, max_tokens=8, temperature=0)
    assert got.choices[0].text == tokenizer.decode(new, skip_special_tokens=True)
    assert got.usage is not None and got.usage.completion_tokens == len(new)
    with pytest.raises(openai.BadRequestError, match="echo"):
        client.completions.create(model="tiny-bart", prompt=prompt, echo=True)
