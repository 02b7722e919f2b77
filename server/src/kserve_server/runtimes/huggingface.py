"""Hugging Face text models with transformers: a causal LM generates, its hidden states embed.

torch and transformers are imported by load(), never at import time. Generation is a plain
token loop over the model's KV cache, so each step's text can be streamed, stop strings and
cancellation are checked between tokens, and greedy decoding gives what transformers'
`generate(do_sample=False)` gives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kserve_server.errors import ModelLoadError
from kserve_server.runtimes.generative import TextModel
from kserve_server.sampling import Sampling, Step
from kserve_server.settings import ModelSpec

log = logging.getLogger(__name__)
DTYPES = ("auto", "float32", "float16", "bfloat16")


class HuggingFaceModel(TextModel):
    embeds = True

    def __init__(
        self, name: str, model_dir: Path, *, max_model_len: int | None = None, dtype: str = "auto"
    ) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self._max_model_len = max_model_len
        self.dtype = dtype
        self._torch: Any = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._eos: set[int] = set()

    def load(self) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise ModelLoadError(
                f"the huggingface runtime needs torch and transformers: {exc}"
            ) from exc
        if not (self.model_dir / "config.json").is_file():
            raise ModelLoadError(f"no Hugging Face model (config.json) in {self.model_dir}")
        self._torch = torch
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(self.model_dir)
        dtype = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        if self.dtype == "auto" and not torch.cuda.is_available():
            dtype = torch.float32  # half precision is slow or unsupported on most CPUs
        model = transformers.AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=dtype)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model = model.to(device).eval()
        config = model.config
        limit = getattr(config, "max_position_embeddings", None) or getattr(
            config, "n_positions", None
        )
        self.max_model_len = int(self._max_model_len or limit or 2048)
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = self._tokenizer.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        log.info(
            "model %s: %s on %s, %s, max_model_len %d",
            self.name,
            type(model).__name__,
            device,
            model.dtype,
            self.max_model_len,
        )

    def unload(self) -> None:
        self._model = self._tokenizer = None

    def prompt_ids(self, prompt: str) -> list[int]:
        return list(self._tokenizer(prompt)["input_ids"])

    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        if not getattr(self._tokenizer, "chat_template", None):
            from kserve_server.errors import InvalidInput

            raise InvalidInput(f"model {self.name} has no chat template: use /completions")
        text = self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(
        self, ids: list[int], sampling: Sampling, *, cancelled: threading.Event
    ) -> Iterator[Step]:
        torch = self._torch
        device = self._model.device
        room = self.max_model_len - len(ids)
        limit = min(sampling.max_tokens or room, room)
        generator = None
        if not sampling.greedy and sampling.seed is not None:
            generator = torch.Generator(device=device).manual_seed(sampling.seed)
        produced: list[int] = []
        sent = 0  # characters of the decoded completion already yielded
        hold = max((len(s) for s in sampling.stop), default=1) - 1
        step_input = torch.tensor([ids], device=device)
        past = None
        with torch.inference_mode():
            while len(produced) < limit:
                if cancelled.is_set():
                    return
                out = self._model(input_ids=step_input, past_key_values=past, use_cache=True)
                past = out.past_key_values
                token = self._pick(out.logits[0, -1, :], sampling, generator)
                if token in self._eos:
                    text = self._decode(produced)
                    yield Step(text[sent:], len(produced), "stop")
                    return
                produced.append(token)
                step_input = torch.tensor([[token]], device=device)
                text = self._decode(produced)
                cut = _first_stop(text, sampling.stop)
                if cut is not None:
                    yield Step(text[sent:cut], len(produced), "stop")
                    return
                if text.endswith("\ufffd"):  # a character split over tokens: wait for the rest
                    continue
                ready = len(text) - hold
                if ready > sent:
                    yield Step(text[sent:ready], len(produced))
                    sent = ready
        text = self._decode(produced)
        yield Step(text[sent:], len(produced), "length")

    def _pick(self, logits: Any, sampling: Sampling, generator: Any) -> int:
        torch = self._torch
        if sampling.greedy:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits.float() / sampling.temperature, dim=-1)
        if sampling.top_p < 1.0:
            ordered, order = torch.sort(probs, descending=True)
            outside = torch.cumsum(ordered, dim=-1) - ordered > sampling.top_p
            ordered[outside] = 0.0
            probs = torch.zeros_like(probs).scatter(0, order, ordered)
        return int(torch.multinomial(probs, 1, generator=generator))

    def _decode(self, ids: list[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=True))

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Mean of the last hidden state over each text's tokens, L2-normalized."""
        torch = self._torch
        vectors, tokens = [], 0
        with torch.inference_mode():
            for text in texts:
                ids = self.prompt_ids(text)
                self.check_length(ids, param="input")
                tokens += len(ids)
                out = self._model(
                    input_ids=torch.tensor([ids], device=self._model.device),
                    output_hidden_states=True,
                )
                mean = out.hidden_states[-1][0].float().mean(dim=0)
                vectors.append(torch.nn.functional.normalize(mean, dim=0).tolist())
        return vectors, tokens


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def create(spec: ModelSpec) -> HuggingFaceModel:
    return HuggingFaceModel(spec.name, spec.model_dir)
