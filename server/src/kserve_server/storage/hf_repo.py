"""An `hf://owner/model[:revision]` URI, and which files of a Hub repository a model needs (pure).

A Hub repository often holds one model several times over: safetensors beside the same weights
as `pytorch_model.bin`, TensorFlow, Flax, Rust, ONNX, OpenVINO, Core ML or GGUF copies, and
Meta's original checkpoints under `original/`. A transformers runtime loads the safetensors
(else the PyTorch `.bin`) and the configs and tokenizer files, so the copies are skipped when
those weights are there. Upstream's STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS (a JSON
list or comma-separated fnmatch patterns) replace this choice when either is set.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kserve_server.storage.errors import StorageError

# Upstream's rule: exactly owner/model, the revision (branch, tag or commit) after a colon.
_URI = re.compile(r"^hf://(?P<owner>[\w.-]+)/(?P<model>[\w.-]+)(?::(?P<revision>[^\s:/]+))?$")
DEFAULT_REVISION = "main"

# Weights transformers reads for a PyTorch model, best first.
SAFETENSORS = ("*.safetensors", "*.safetensors.index.json")
TORCH_BIN = ("pytorch_model*.bin", "pytorch_model.bin.index.json")
# Copies of the same weights for other frameworks or runtimes; skipped when SAFETENSORS or
# TORCH_BIN weights exist.
OTHER_FORMATS = (
    "tf_model*.h5",
    "*.h5",
    "flax_model*.msgpack",
    "*.msgpack",
    "rust_model.ot",
    "*.ot",
    "*.onnx",
    "*.onnx_data",
    "onnx/*",
    "openvino/*",
    "coreml/*",
    "*.mlmodel",
    "*.tflite",
    "*.gguf",
    "*.ggml",
    "original/*",
)
ALWAYS_SKIPPED = (".gitattributes",)


@dataclass(frozen=True)
class HfUri:
    repo_id: str
    revision: str  # as given (a branch, tag or commit); resolved to a commit before download

    def __str__(self) -> str:
        return f"hf://{self.repo_id}:{self.revision}"


@dataclass(frozen=True)
class Choice:
    fetched: list[str]
    skipped: list[str]
    why: str  # one phrase for the log line


def parse(uri: str) -> HfUri:
    match = _URI.match(uri)
    if match is None:
        raise StorageError(f"{uri} is not a Hugging Face URI: expected hf://owner/model[:revision]")
    return HfUri(
        repo_id=f"{match['owner']}/{match['model']}",
        revision=match["revision"] or DEFAULT_REVISION,
    )


def patterns(value: str | None) -> list[str] | None:
    """Upstream's format: a JSON list, else comma-separated; None when unset or empty."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        found = [p.strip() for p in text.split(",") if p.strip()]
    else:
        items = parsed if isinstance(parsed, list) else [parsed]
        found = [str(p).strip() for p in items if str(p).strip()]
    return found or None


def _matches(path: str, globs: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(path, g) for g in globs)


def choose(
    paths: Sequence[str], *, allow: list[str] | None = None, ignore: list[str] | None = None
) -> Choice:
    """The files to fetch from a repository listing, and those left out."""
    ordered = sorted(paths)
    if allow is not None or ignore is not None:
        keep = [
            p
            for p in ordered
            if (allow is None or _matches(p, allow)) and not (ignore and _matches(p, ignore))
        ]
        why = "as STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS select"
    else:
        skip = list(ALWAYS_SKIPPED)
        has_safetensors = any(_matches(p, SAFETENSORS) for p in ordered)
        has_torch_bin = any(_matches(p, TORCH_BIN) for p in ordered)
        if has_safetensors:
            skip += TORCH_BIN
        if has_safetensors or has_torch_bin:
            skip += OTHER_FORMATS
        keep = [p for p in ordered if not _matches(p, skip)]
        why = (
            "the safetensors weights, configs and tokenizer"
            if has_safetensors
            else "the PyTorch weights, configs and tokenizer"
            if has_torch_bin
            else "every file (no transformers weights to choose by)"
        )
    kept = set(keep)
    return Choice(fetched=keep, skipped=[p for p in ordered if p not in kept], why=why)
