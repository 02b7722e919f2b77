"""HuggingFaceOptions: what upstream's huggingfaceserver flags ask of a Hugging Face model.

Read from the command line once (hf_flags.py) and carried by the ModelSpec to the runtime; plain
data, so the server's start does not import torch or transformers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# upstream's task names (MLTask) that its huggingface backend serves, time series aside
Task = Literal[
    "text_generation",
    "text2text_generation",
    "sequence_classification",
    "token_classification",
    "fill_mask",
    "text_embedding",
]
TASKS: tuple[Task, ...] = (
    "text_generation",
    "text2text_generation",
    "sequence_classification",
    "token_classification",
    "fill_mask",
    "text_embedding",
)
# upstream's --dtype choices; "float" and "half" are torch's other names for float32 / float16
Dtype = Literal["auto", "float16", "float32", "bfloat16", "float", "half"]
DTYPES: tuple[Dtype, ...] = ("auto", "float16", "float32", "bfloat16", "float", "half")


class HuggingFaceOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Task | None = None  # None: inferred from config.json's architectures
    max_model_len: int | None = Field(default=None, ge=1)
    dtype: Dtype = "auto"
    trust_remote_code: bool = False
    # the tokenizer's own files when --tokenizer_revision fetched them apart (--model_id)
    tokenizer_dir: Path | None = None
    do_lower_case: bool = True
    add_special_tokens: bool = True
    return_token_type_ids: bool | None = None
    return_offsets_mapping: bool = False
    return_probabilities: bool = False
    return_raw_logits: bool = False
    # generations run at once per model; more wait their turn (queued, never refused)
    max_concurrent_generations: int = Field(default=16, ge=1)
