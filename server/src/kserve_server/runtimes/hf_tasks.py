"""Which task a Hugging Face model serves: `--task`, else its config.json's architecture.

Upstream's rule: the first architecture named in config.json, matched by the end of its class
name (`BertForSequenceClassification` → sequence_classification). Pure: reads the JSON only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kserve_server.errors import ModelLoadError
from kserve_server.hf_settings import TASKS, Task

# class-name endings → upstream's task names, first match wins (upstream's order)
ARCHITECTURES = (
    ("TapasForQuestionAnswering", "table_question_answering"),
    ("ForQuestionAnswering", "question_answering"),
    ("ForTokenClassification", "token_classification"),
    ("ForSequenceClassification", "sequence_classification"),
    ("ForMultipleChoice", "multiple_choice"),
    ("ForMaskedLM", "fill_mask"),
    ("ForCausalLM", "text_generation"),
    ("LMHeadModel", "text_generation"),  # GPT-2's class name
    ("ForConditionalGeneration", "text2text_generation"),
    ("MTModel", "text2text_generation"),
    ("EncoderDecoderModel", "text2text_generation"),
    ("ForPrediction", "time_series_forecast"),
)
# transformers' Auto class for each task
AUTO_CLASSES: dict[Task, str] = {
    "text_generation": "AutoModelForCausalLM",
    "text2text_generation": "AutoModelForSeq2SeqLM",
    "sequence_classification": "AutoModelForSequenceClassification",
    "token_classification": "AutoModelForTokenClassification",
    "fill_mask": "AutoModelForMaskedLM",
    "text_embedding": "AutoModel",
}
GENERATIVE = frozenset({"text_generation", "text2text_generation"})


def read_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "config.json"
    if not path.is_file():
        raise ModelLoadError(f"no Hugging Face model (config.json) in {model_dir}")
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path} is not a JSON object")
    return config


def inferred(config: dict[str, Any]) -> str | None:
    """The task config.json's first architecture names, or None when it names none we know."""
    architectures = config.get("architectures") or []
    if not architectures:
        return None
    first = str(architectures[0])
    return next((task for end, task in ARCHITECTURES if first.endswith(end)), None)


def resolve(explicit: Task | None, config: dict[str, Any]) -> Task:
    """`--task` when given, else the one config.json implies; ModelLoadError saying why not."""
    if explicit is not None:
        return explicit
    found = inferred(config)
    architecture = (config.get("architectures") or ["(none)"])[0]
    if found is None:
        raise ModelLoadError(
            f"Task couldn't be inferred from {architecture}. Please manually set `task` option "
            f"(--task: one of {', '.join(TASKS)})"
        )
    if found not in TASKS:
        raise ModelLoadError(
            f"Task {found} (from {architecture}) is not supported. Currently supported tasks "
            f"are: {', '.join(TASKS)}"
        )
    return found
