"""Hugging Face runtime tests: run by `make test-huggingface` in hack/torch-venv.sh's venv
(torch stays out of .venv). The model is bench/tiny_gpt2.py's (the LLM bench cell serves it
too), made with the real libraries: a byte-level BPE tokenizer trained by `tokenizers` on a
fixed corpus, with a chat template, and a GPT-2 of 2 layers and 32-wide embeddings from a fixed
seed, saved by `save_pretrained` as safetensors."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("torch") is None:  # a failure, never a skip
    raise pytest.UsageError("tests/huggingface needs torch: run `make test-huggingface`")

import torch
import transformers

from bench import tiny_gpt2
from kserve_server.settings import ModelSpec

CORPUS, NAME = tiny_gpt2.CORPUS, tiny_gpt2.NAME


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gpt2.build(tmp_path_factory.mktemp("models"))


@dataclass
class Reference:
    """transformers' own generate and tokenizer on the same files: the expected answers."""

    model: Any
    tokenizer: Any

    def greedy(self, ids: list[int], max_new_tokens: int) -> tuple[str, int]:
        with torch.inference_mode():
            out = self.model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.eos_token_id,
            )
        new = out[0, len(ids) :].tolist()
        eos = self.tokenizer.eos_token_id
        if eos in new:
            new = new[: new.index(eos)]
        return self.tokenizer.decode(new, skip_special_tokens=True), len(new)

    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.fixture(scope="session")
def reference(model_dir: Path) -> Reference:
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir).eval()
    return Reference(model, transformers.AutoTokenizer.from_pretrained(model_dir))


@pytest.fixture(scope="session")
def served(server_thread: Any, model_dir: Path) -> Iterator[str]:
    """The model server with the tiny model; the OpenAI API's base URL."""
    spec = ModelSpec(name=NAME, model_dir=model_dir, framework="huggingface")
    with server_thread([spec]) as running:
        yield f"http://127.0.0.1:{running.port}/openai/v1"
