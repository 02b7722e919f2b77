"""Loading a Hugging Face model for a task, as upstream's huggingfaceserver loads it: the dtype
(`auto`: config.json's, else float16 on a GPU and float32 on the CPU), the context length
(`--max_model_len`, at most what the model's positions allow), the tokenizer (its own revision
when fetched apart) and the task's Auto class. What cannot work is a ModelLoadError with the
reason before (or instead of) a crash: custom code without `--trust_remote_code`, weights too
big for the memory limit, a task the checkpoint has no weights for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kserve_server.errors import ModelLoadError
from kserve_server.hf_settings import HuggingFaceOptions, Task
from kserve_server.runtimes import hf_memory, hf_tasks

log = logging.getLogger(__name__)
# config.json keys that bound the positions a model can read (upstream's list), smallest wins
LENGTH_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)
DTYPE_NAMES = {"float": "float32", "half": "float16"}
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclass
class Loaded:
    torch: Any
    model: Any
    tokenizer: Any
    task: Task
    max_model_len: int


def load(
    name: str, model_dir: Path, *, options: HuggingFaceOptions, task: Task, nthread: int
) -> Loaded:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ModelLoadError(
            f"the huggingface runtime needs torch and transformers: {exc}"
        ) from exc
    # Intra-op threads (--nthread / NTHREAD, default 1): each generation runs in its own
    # thread, and torch's default (a thread a core) makes them spin against each other and
    # against the rest of the node: the LLM bench cell measured 2.8 s instead of 0.04 s for 64
    # tokens of the tiny GPT-2 on a busy 2-core machine. Raise it for a big model on many cores.
    torch.set_num_threads(nthread)
    config = hf_tasks.read_config(model_dir)
    if config.get("auto_map") and not options.trust_remote_code:
        raise ModelLoadError(
            f"model {name} runs its own code (auto_map in config.json): it is loaded only with "
            f"--trust_remote_code, which runs that code in this server"
        )
    gpu = torch.cuda.is_available()
    dtype_name = dtype_for(options.dtype, config, gpu=gpu)
    hf_memory.check(
        hf_memory.weight_bytes(model_dir, float_bytes=DTYPE_BYTES.get(dtype_name)),
        limit_bytes=hf_memory.limit(),
        used=hf_memory.resident(),
        dtype=dtype_name,
        name=name,
    )
    max_model_len = context_length(config, options.max_model_len)
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        options.tokenizer_dir or model_dir,
        do_lower_case=options.do_lower_case,
        trust_remote_code=options.trust_remote_code,
    )
    auto = getattr(transformers, hf_tasks.AUTO_CLASSES[task])
    try:
        model, info = auto.from_pretrained(
            model_dir,
            dtype=getattr(torch, dtype_name),
            trust_remote_code=options.trust_remote_code,
            output_loading_info=True,
        )
    except ValueError as exc:  # transformers: no class of this kind for the config's model type
        first = str(exc).strip().splitlines()[0]
        raise ModelLoadError(f"model {name} cannot do {task}: {first}") from exc
    architecture = (config.get("architectures") or [config.get("model_type", "?")])[0]
    missing = [k for k in info.get("missing_keys", ()) if not k.endswith("position_ids")]
    if missing and task != "text_embedding":
        shown = ", ".join(sorted(missing)[:3]) + (" ..." if len(missing) > 3 else "")
        trained = hf_tasks.inferred(config) or "unknown"
        raise ModelLoadError(
            f"model {name} cannot do {task}: its checkpoint ({architecture}, trained for "
            f"{trained}) has no weights for {shown}; serve it with --task={trained}, or a model "
            f"trained for {task}"
        )
    device = "cuda" if gpu else "cpu"
    model = model.to(device).eval()
    log.info(
        "model %s: %s for %s on %s, %s, max_model_len %d",
        name,
        type(model).__name__,
        task,
        device,
        dtype_name,
        max_model_len,
    )
    return Loaded(torch, model, tokenizer, task, max_model_len)


def dtype_for(requested: str, config: dict[str, Any], *, gpu: bool) -> str:
    """Upstream's rule: `auto` is config.json's dtype, else float16 on a GPU, float32 on CPU."""
    name = DTYPE_NAMES.get(requested, requested)
    if name == "auto":
        saved = config.get("dtype") or config.get("torch_dtype")
        name = saved if saved in DTYPE_BYTES else ("float16" if gpu else "float32")
    return str(name)


def context_length(config: dict[str, Any], requested: int | None) -> int:
    """`--max_model_len`, never past the model's positions; else those positions (or 2048)."""
    bounds = [int(config[k]) for k in LENGTH_KEYS if isinstance(config.get(k), int)]
    derived = min(bounds) if bounds else None
    if requested is None:
        return derived or 2048
    if derived is not None and requested > derived:
        raise ModelLoadError(
            f"--max_model_len={requested} is more than the model reads ({derived} positions "
            f"in config.json)"
        )
    return requested
