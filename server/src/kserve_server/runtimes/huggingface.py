"""Hugging Face models with transformers, one class per kind of task: a causal LM or an
encoder-decoder generates (OpenAI completions and chat), an encoder predicts (V1/V2, and
embeddings: hf_encoder.py). The task is `--task`, else config.json's architecture (hf_tasks).

torch and transformers are imported by load(), never at import time. Generation is a plain
token loop over the model's KV cache, so each step's text can be streamed, stop strings and
cancellation are checked between tokens, and greedy decoding gives what transformers'
`generate(do_sample=False)` gives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.hf_settings import HuggingFaceOptions, Task
from kserve_server.inference import Request, Response
from kserve_server.runtimes import hf_load, hf_tasks
from kserve_server.runtimes.base import Model
from kserve_server.runtimes.generative import TextModel
from kserve_server.sampling import Sampling, Step, TokenLogprob
from kserve_server.settings import ModelSpec


class HuggingFaceModel(TextModel):
    """A causal language model (text_generation): the prompt, then one token at a time."""

    embeds = True

    def __init__(
        self,
        name: str,
        model_dir: Path,
        *,
        options: HuggingFaceOptions,
        task: Task,
        nthread: int = 1,
    ) -> None:
        super().__init__(name, max_concurrent_generations=options.max_concurrent_generations)
        self.model_dir = model_dir
        self.options = options
        self.task = task
        self.nthread = nthread
        self._torch: Any = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._eos: set[int] = set()

    def load(self) -> None:
        loaded = hf_load.load(
            self.name, self.model_dir, options=self.options, task=self.task, nthread=self.nthread
        )
        self._torch, self._model, self._tokenizer = loaded.torch, loaded.model, loaded.tokenizer
        self.max_model_len = loaded.max_model_len
        eos = self._model.generation_config.eos_token_id
        if eos is None:
            eos = self._tokenizer.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [] if eos is None else [eos])

    def unload(self) -> None:
        self._model = self._tokenizer = None

    def prompt_ids(self, prompt: str) -> list[int]:
        return list(self._tokenizer(prompt)["input_ids"])

    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        if not getattr(self._tokenizer, "chat_template", None):
            raise InvalidInput(f"model {self.name} has no chat template: use /completions")
        text = self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def _start(self, ids: list[int]) -> tuple[Any, dict[str, Any], int]:
        """The first step's input, what every step also passes, and the tokens left to make."""
        torch = self._torch
        return torch.tensor([ids], device=self._model.device), {}, self.max_model_len - len(ids)

    def _forward(self, step_input: Any, past: Any, extra: dict[str, Any]) -> Any:
        return self._model(input_ids=step_input, past_key_values=past, use_cache=True, **extra)

    def generate(
        self, ids: list[int], sampling: Sampling, *, cancelled: threading.Event
    ) -> Iterator[Step]:
        torch = self._torch
        device = self._model.device
        step_input, extra, room = self._start(ids)
        limit = min(sampling.max_tokens or room, room)
        generator = None
        if not sampling.greedy and sampling.seed is not None:
            generator = torch.Generator(device=device).manual_seed(sampling.seed)
        produced: list[int] = []
        scored: list[TokenLogprob] = []  # logprobs not yet handed out with a step
        sent = 0  # characters of the decoded completion already yielded
        hold = max((len(s) for s in sampling.stop), default=1) - 1
        past = None
        # inference mode per step, never across a yield: the model's worker thread interleaves
        # generations (rounds.py), and a context left open over a yield would leak into them
        while len(produced) < limit:
            if cancelled.is_set():
                return
            with torch.inference_mode():
                out = self._forward(step_input, past, extra)
                logits = out.logits[0, -1, :]
                token = self._pick(logits, sampling, generator)
                if sampling.logprobs is not None and token not in self._eos:
                    scored.append(self._logprob(logits, token, sampling.logprobs))
            past = out.past_key_values
            if token in self._eos:
                text = self._decode(produced)
                yield Step(text[sent:], len(produced), "stop", tuple(scored))
                return
            produced.append(token)
            step_input = torch.tensor([[token]], device=device)
            text = self._decode(produced)
            cut = _first_stop(text, sampling.stop)
            if cut is not None:
                yield Step(text[sent:cut], len(produced), "stop", tuple(scored))
                return
            if text.endswith("\ufffd"):  # a character split over tokens: wait for the rest
                continue
            ready = len(text) - hold
            if ready > sent:
                yield Step(text[sent:ready], len(produced), None, tuple(scored))
                sent = ready
                scored.clear()
        text = self._decode(produced)
        yield Step(text[sent:], len(produced), "length", tuple(scored))

    def _logprob(self, logits: Any, token: int, k: int) -> TokenLogprob:
        """The model's own log probabilities (before temperature and top_p), as OpenAI's."""
        logprobs = self._torch.log_softmax(logits.float(), dim=-1)
        top = []
        if k:
            values, ids = self._torch.topk(logprobs, k)
            top = [(self._decode_one(int(i)), float(v)) for v, i in zip(values, ids, strict=True)]
        return TokenLogprob(self._decode_one(token), float(logprobs[token]), tuple(top))

    def _decode_one(self, token: int) -> str:
        return str(self._tokenizer.decode([token]))

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


class Seq2SeqModel(HuggingFaceModel):
    """An encoder-decoder (text2text_generation, T5, BART): the prompt is encoded once, the
    answer decoded from the model's decoder start token, one token at a time."""

    embeds = False
    echoes = False

    def _start(self, ids: list[int]) -> tuple[Any, dict[str, Any], int]:
        torch = self._torch
        device = self._model.device
        encoder = self._model.get_encoder()
        with torch.inference_mode():
            encoded = encoder(input_ids=torch.tensor([ids], device=device))
        start = self._model.generation_config.decoder_start_token_id
        if start is None:
            start = self._model.config.decoder_start_token_id
        step_input = torch.tensor([[start]], device=device)
        return step_input, {"encoder_outputs": encoded}, self.max_model_len

    def _forward(self, step_input: Any, past: Any, extra: dict[str, Any]) -> Any:
        return self._model(
            decoder_input_ids=step_input, past_key_values=past, use_cache=True, **extra
        )

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        raise InvalidInput(f"model {self.name} does not make embeddings")


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


class Unloadable(Model):
    """A model whose task cannot be known: its load fails with the reason (not ready, said)."""

    def __init__(self, name: str, reason: ModelLoadError) -> None:
        super().__init__(name)
        self.reason = reason

    def load(self) -> None:
        raise self.reason

    def predict(self, request: Request) -> Response:
        raise self.reason


def create(spec: ModelSpec) -> Model:
    """The runtime for the spec's task (read now from config.json: no torch import)."""
    options = spec.huggingface
    try:
        task = hf_tasks.resolve(options.task, hf_tasks.read_config(spec.model_dir))
    except ModelLoadError as exc:
        return Unloadable(spec.name, exc)
    args = {"options": options, "task": task, "nthread": spec.nthread}
    if task == "text_generation":
        return HuggingFaceModel(spec.name, spec.model_dir, **args)  # type: ignore[arg-type]
    if task == "text2text_generation":
        return Seq2SeqModel(spec.name, spec.model_dir, **args)  # type: ignore[arg-type]
    from kserve_server.runtimes import hf_encoder

    return hf_encoder.EncoderModel(spec.name, spec.model_dir, **args)  # type: ignore[arg-type]
