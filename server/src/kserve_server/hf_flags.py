"""Upstream huggingfaceserver's flags → HuggingFaceOptions, for `--framework huggingface`.

Upstream's own flags (`--model_id`, `--task`, `--max_model_len` and its deprecated alias
`--max_length`, `--dtype`, `--backend`, `--trust_remote_code`, `--return_probabilities` ...)
mean here what they mean there. Users' YAML written for upstream's vLLM backend passes vLLM's
engine flags (`--gpu-memory-utilization=0.95`, `--max-model-len=1024`): the ones in VLLM_FLAGS
are accepted, those with a transformers meaning honoured, the rest warned about as having no
effect. Anything else is refused by name: a flag silently ignored is a setting silently lost.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kserve_server.hf_settings import DTYPES, TASKS, HuggingFaceOptions

log = logging.getLogger("kserve_server")
BACKENDS = ("auto", "huggingface", "vllm")
# vLLM engine / OpenAI server flags seen in upstream's docs and users' YAML; no effect here
VLLM_FLAGS = (
    "--gpu-memory-utilization",
    "--tensor-parallel-size",
    "--pipeline-parallel-size",
    "--max-num-seqs",
    "--max-num-batched-tokens",
    "--enforce-eager",
    "--enable-prefix-caching",
    "--enable-chunked-prefill",
    "--quantization",
    "--kv-cache-dtype",
    "--swap-space",
    "--block-size",
    "--cpu-offload-gb",
    "--disable-log-stats",
    "--disable-log-requests",
    "--chat-template",
    "--enable-auto-tool-choice",
    "--tool-call-parser",
    "--reasoning-parser",
    "--served-model-name",
    "--seed",
    "--distributed-executor-backend",
    "--download-dir",
    "--load-format",
    "--tokenizer-mode",
    "--limit-mm-per-prompt",
    "--max-logprobs",
    "--enable-lora",
    "--lora-modules",
    "--max-lora-rank",
    "--max-seq-len-to-capture",
    "--disable-custom-all-reduce",
    "--generation-config",
    "--override-generation-config",
    "--hf-overrides",
    "--compilation-config",
    "--speculative-config",
    "--uvicorn-log-level",
    "--device",
)


class FlagError(ValueError):
    """A Hugging Face flag this server cannot honour, with the reason."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("huggingface (--framework huggingface; upstream's huggingfaceserver)")
    add = g.add_argument
    add("--model_id", default=None, help="a Hub model id (owner/name), fetched from HF_ENDPOINT")
    add("--model_revision", default=None, help="the --model_id's revision (branch, tag, commit)")
    add("--tokenizer_revision", default=None, help="the tokenizer's revision (--model_id)")
    add("--task", default=None, help=f"one of {', '.join(TASKS)}; default: from config.json")
    add(
        "--max_model_len",
        "--max-model-len",
        dest="max_model_len",
        type=int,
        default=None,
        help="tokens a prompt and its answer may hold (default: the model's positions)",
    )
    add(
        "--max_length",
        dest="max_length",
        type=int,
        default=None,
        help="deprecated name of --max_model_len",
    )
    add("--dtype", default="auto", help=f"one of {', '.join(DTYPES)}")
    add("--backend", default="auto", help="auto or huggingface (vllm is not available here)")
    add(
        "--trust_remote_code",
        "--trust-remote-code",
        dest="trust_remote_code",
        action="store_true",
        help="run the model repository's own Python code (off by default)",
    )
    add("--disable_lower_case", action="store_true", help="do not lower-case for the tokenizer")
    add("--disable_special_tokens", action="store_true", help="encode without special tokens")
    add("--tensor_input_names", default=None, help=argparse.SUPPRESS)
    add("--return_token_type_ids", action="store_true", help="tokenizer returns token type ids")
    add(
        "--return_offsets_mapping",
        action="store_true",
        help="token_classification: also each token's character offsets (V2 offset_mapping)",
    )
    out = g.add_mutually_exclusive_group()
    out.add_argument(
        "--return_probabilities",
        action="store_true",
        help="classification and fill_mask: probabilities instead of the label",
    )
    out.add_argument(
        "--return_raw_logits",
        action="store_true",
        help="classification and fill_mask: the raw logits instead of the label",
    )
    add("--disable_log_requests", action="store_true", help=argparse.SUPPRESS)
    add(
        "--max_log_len",
        "--max-log-len",
        dest="max_log_len",
        type=int,
        default=None,
        help=argparse.SUPPRESS,
    )
    add(
        "--max_concurrent_generations",
        type=int,
        default=None,
        help="generations run at once per model; more are queued (default 16)",
    )
    for flag in VLLM_FLAGS:
        dest = "vllm_" + flag.removeprefix("--").replace("-", "_")
        add(flag, dest=dest, nargs="?", const=True, default=None, help=argparse.SUPPRESS)


def options(args: argparse.Namespace) -> HuggingFaceOptions:
    """The flags as options; FlagError for a backend, task or value not served here."""
    if args.backend not in BACKENDS:
        raise FlagError(f"--backend={args.backend}: expected one of {', '.join(BACKENDS)}")
    if args.backend == "vllm":
        raise FlagError(
            "--backend=vllm: vLLM is not available in this server; it runs models with "
            "transformers (--backend=huggingface, or auto)"
        )
    if args.task is not None and args.task not in TASKS:
        raise FlagError(
            f"Unsupported task: {args.task}. Currently supported tasks are: {', '.join(TASKS)}"
        )
    if args.dtype not in DTYPES:
        raise FlagError(f"--dtype={args.dtype}: expected one of {', '.join(DTYPES)}")
    max_model_len = args.max_model_len
    if args.max_length is not None:
        log.warning("--max_length is deprecated: use --max_model_len")
        max_model_len = max_model_len or args.max_length
    for flag in VLLM_FLAGS:
        value = getattr(args, "vllm_" + flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            log.warning("%s is a vLLM engine flag: no effect on the huggingface backend", flag)
    if args.tensor_input_names is not None:
        log.warning("--tensor_input_names has no effect: the model runs in this server")
    fields: dict[str, Any] = {
        "task": args.task,
        "max_model_len": max_model_len,
        "dtype": args.dtype,
        "trust_remote_code": args.trust_remote_code,
        "do_lower_case": not args.disable_lower_case,
        "add_special_tokens": not args.disable_special_tokens,
        "return_token_type_ids": True if args.return_token_type_ids else None,
        "return_offsets_mapping": args.return_offsets_mapping,
        "return_probabilities": args.return_probabilities,
        "return_raw_logits": args.return_raw_logits,
    }
    if args.max_concurrent_generations is not None:
        fields["max_concurrent_generations"] = args.max_concurrent_generations
    try:
        return HuggingFaceOptions(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise FlagError(f"--{where}: {problem['msg']}") from exc


def refuse_unknown(unknown: list[str]) -> None:
    """Upstream ignores what it does not know; here a flag not served is named and refused."""
    flags = [u.split("=", 1)[0] for u in unknown if u.startswith("-")]
    if unknown:
        raise FlagError(
            f"unknown arguments for the huggingface runtime: {' '.join(flags or unknown)}"
        )


def fetch_model_id(args: argparse.Namespace, *, cache: Path) -> tuple[Path, Path | None]:
    """`--model_id` from the Hub (HF_ENDPOINT, HF_TOKEN) into `cache`, at `--model_revision`;
    the tokenizer apart when `--tokenizer_revision` differs. The directories, model first."""
    import asyncio

    from kserve_server.storage import fetch
    from kserve_server.storage.errors import StorageError
    from kserve_server.storage.settings import StorageSettings

    settings = StorageSettings()

    def get(revision: str | None) -> Path:
        uri = f"hf://{args.model_id}" + (f":{revision}" if revision else "")
        dest: Path = cache / str(args.model_id).replace("/", "--") / (revision or "default")
        if not dest.is_dir() or not any(dest.iterdir()):
            try:
                asyncio.run(fetch(uri, dest, settings=settings))
            except StorageError as exc:
                raise FlagError(f"--model_id={args.model_id}: {exc}") from exc
        return dest

    model_dir = get(args.model_revision)
    tokenizer_dir = None
    if args.tokenizer_revision and args.tokenizer_revision != args.model_revision:
        tokenizer_dir = get(args.tokenizer_revision)
    return model_dir, tokenizer_dir
