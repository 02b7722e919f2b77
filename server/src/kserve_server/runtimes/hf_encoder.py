"""Hugging Face encoders for the predictive tasks, over V1 and V2 with upstream's shapes.

Texts in (V1 `instances`, or V2's first input as BYTES), tokenized as a padded batch and
truncated to max_model_len, as upstream does; out, per text:
- sequence_classification: the label index; with --return_probabilities {label: p} (4
  decimals), with --return_raw_logits {label: logit};
- token_classification: [[label per token]]; or per token {label: p} / {label: logit};
- fill_mask: the text the model puts in the mask(s); or per mask [{token id: "p"}] / logits;
- text_embedding: the attention-masked mean of the last hidden state, L2-normalized (also the
  OpenAI /embeddings answer).
V2 answers one tensor `output-0` (BYTES for texts; numbers as a [texts, ...] tensor; a
dictionary answer as a dense [texts, (tokens,) labels] FP32 tensor), and `offset_mapping` for
token_classification with --return_offsets_mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput
from kserve_server.hf_settings import HuggingFaceOptions, Task
from kserve_server.inference import (
    InferRequest,
    InferResponse,
    PredictRequest,
    PredictResponse,
    Request,
    Response,
    Tensor,
)
from kserve_server.runtimes import hf_load, inputs
from kserve_server.runtimes.generative import TextModel


class EncoderModel(TextModel):
    generates = False

    def __init__(
        self,
        name: str,
        model_dir: Path,
        *,
        options: HuggingFaceOptions,
        task: Task,
        nthread: int = 1,
    ) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.options = options
        self.task = task
        self.nthread = nthread
        self.embeds = task == "text_embedding"
        self._torch: Any = None
        self._model: Any = None
        self._tokenizer: Any = None

    def load(self) -> None:
        loaded = hf_load.load(
            self.name, self.model_dir, options=self.options, task=self.task, nthread=self.nthread
        )
        self._torch, self._model, self._tokenizer = loaded.torch, loaded.model, loaded.tokenizer
        self.max_model_len = loaded.max_model_len
        if not self._tokenizer.pad_token:  # a batch needs padding: upstream's fallback
            self._tokenizer.add_special_tokens({"pad_token": "[PAD]"})
            self._model.resize_token_embeddings(len(self._tokenizer))
        if self.task == "fill_mask" and self._tokenizer.mask_token_id is None:
            from kserve_server.errors import ModelLoadError

            raise ModelLoadError(f"model {self.name} cannot do fill_mask: no mask token")

    def unload(self) -> None:
        self._model = self._tokenizer = None

    def predict(self, request: Request) -> Response:
        texts = self._texts(request)
        offsets = self.task == "token_classification" and self.options.return_offsets_mapping
        batch = self._tokenize(texts, offsets=offsets)
        mapping = batch.pop("offset_mapping", None)
        result = self._postprocess(self._run(batch), batch)
        if isinstance(request, PredictRequest):
            return PredictResponse(predictions=result)
        outputs = [_tensor("output-0", result)]
        if mapping is not None:
            outputs.append(_tensor("offset_mapping", mapping.cpu().numpy().astype(np.int64)))
        return InferResponse(outputs=outputs)

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        for text in texts:
            ids = self._tokenizer(text, add_special_tokens=self.options.add_special_tokens)
            self.check_length(list(ids["input_ids"]), param="input")
        batch = self._tokenize(texts, offsets=False)
        vectors = self._embedding(self._run(batch), batch["attention_mask"])
        return vectors, int(batch["attention_mask"].sum())

    def _texts(self, request: Request) -> list[str]:
        if isinstance(request, PredictRequest):
            found = inputs.from_instances(request.instances)
        else:
            assert isinstance(request, InferRequest)
            found = inputs.from_tensors(request)
        if not isinstance(found, list) or not all(isinstance(t, str) for t in found):
            raise InvalidInput(
                f"model {self.name} ({self.task}) reads texts: send strings (V2: one BYTES input)"
            )
        return found

    def _tokenize(self, texts: list[str], *, offsets: bool) -> Any:
        if offsets and not getattr(self._tokenizer, "is_fast", False):
            raise InvalidInput("return_offsets_mapping requires a fast tokenizer (tokenizers).")
        return self._tokenizer(
            texts,
            max_length=self.max_model_len,
            add_special_tokens=self.options.add_special_tokens,
            return_tensors="pt",
            return_token_type_ids=self.options.return_token_type_ids,
            padding=True,
            truncation=True,
            return_offsets_mapping=offsets,
        ).to(self._model.device)

    def _run(self, batch: Any) -> Any:
        with self._torch.inference_mode():
            out = self._model(**batch, return_dict=True)
        return out.last_hidden_state if self.task == "text_embedding" else out.logits

    def _postprocess(self, outputs: Any, batch: Any) -> Any:
        if self.task == "text_embedding":
            return self._embedding(outputs, batch["attention_mask"])
        outputs = outputs.float().cpu()
        if self.task == "sequence_classification":
            return [self._labels(row) for row in outputs]
        if self.task == "token_classification":
            if self.options.return_probabilities or self.options.return_raw_logits:
                return [[self._labels(token) for token in row] for row in outputs]
            return [[row.argmax(dim=-1).tolist()] for row in outputs]
        return self._fill_mask(outputs, batch["input_ids"].cpu())

    def _labels(self, logits: Any) -> Any:
        """One prediction's answer: the label index, or per label its probability or logit."""
        torch = self._torch
        if self.options.return_raw_logits:
            return {str(j): float(v) for j, v in enumerate(logits.tolist())}
        if self.options.return_probabilities:
            probs = torch.softmax(logits, dim=-1).tolist()
            return {str(j): round(p, 4) for j, p in enumerate(probs)}
        return int(logits.argmax())

    def _fill_mask(self, outputs: Any, input_ids: Any) -> list[Any]:
        torch = self._torch
        mask = self._tokenizer.mask_token_id
        answers: list[Any] = []
        for row, ids in zip(outputs, input_ids, strict=True):
            masked = row[(ids == mask).nonzero(as_tuple=True)[0]]
            if self.options.return_raw_logits:
                answers.append(
                    [[{str(t): float(v)} for t, v in enumerate(m.tolist())] for m in masked]
                )
            elif self.options.return_probabilities:
                probs = torch.softmax(masked, dim=-1).tolist()
                answers.append([[{str(t): f"{p:.4f}"} for t, p in enumerate(m)] for m in probs])
            else:
                answers.append(self._tokenizer.decode(masked.argmax(dim=-1)))
        return answers

    def _embedding(self, hidden: Any, attention_mask: Any) -> list[list[float]]:
        torch = self._torch
        mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return [list(v) for v in torch.nn.functional.normalize(mean.float(), p=2, dim=1).tolist()]


def _tensor(name: str, result: Any) -> Tensor:
    if isinstance(result, np.ndarray):
        return Tensor(name=name, datatype="", shape=list(result.shape), data=result)
    if result and all(isinstance(r, str) for r in result):
        data = np.array(result, dtype=object)
        return Tensor(name=name, datatype="BYTES", shape=[len(result)], data=data)
    array = np.asarray(_dense(result))
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    return Tensor(name=name, datatype="", shape=list(array.shape), data=array)


def _dense(value: Any) -> Any:
    """{label: value} dictionaries (JSON's answer) as lists in label order, for a tensor."""
    if isinstance(value, dict):
        return [float(value[k]) for k in sorted(value, key=int)]
    if isinstance(value, list):
        return [_dense(v) for v in value]
    return value
