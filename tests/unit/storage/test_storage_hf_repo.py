"""hf:// URIs, upstream's pattern variables, and which files of a Hub repository are fetched."""

from __future__ import annotations

import pytest

from kserve_server.storage import hf_repo
from kserve_server.storage.errors import StorageError


@pytest.mark.parametrize(
    ("uri", "repo_id", "revision"),
    [
        ("hf://meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B", "main"),
        ("hf://Qwen/Qwen2-0.5B-Instruct:v1.0", "Qwen/Qwen2-0.5B-Instruct", "v1.0"),
        (
            "hf://org/m:0123456789abcdef0123456789abcdef01234567",
            "org/m",
            "0123456789abcdef0123456789abcdef01234567",
        ),
    ],
)
def test_parse(uri: str, repo_id: str, revision: str) -> None:
    parsed = hf_repo.parse(uri)
    assert (parsed.repo_id, parsed.revision) == (repo_id, revision)
    assert str(parsed) == f"hf://{repo_id}:{revision}"


@pytest.mark.parametrize(
    "uri", ["hf://gpt2", "hf://a/b/c", "hf://a/", "hf:///b", "hf://a/b:", "hf://a/b:refs/pr/1"]
)
def test_upstreams_owner_model_form_is_required(uri: str) -> None:
    with pytest.raises(StorageError, match=r"expected hf://owner/model\[:revision\]"):
        hf_repo.parse(uri)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("  ", None),
        ('["*.safetensors", "*.json"]', ["*.safetensors", "*.json"]),
        ("*.safetensors, *.json,", ["*.safetensors", "*.json"]),
        ('"*.json"', ["*.json"]),
        ("[]", None),
    ],
)
def test_patterns_as_upstream_reads_them(value: str | None, expected: list[str] | None) -> None:
    assert hf_repo.patterns(value) == expected


LLAMA = [
    ".gitattributes",
    "LICENSE",
    "config.json",
    "generation_config.json",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "model.safetensors.index.json",
    "original/consolidated.00.pth",
    "original/params.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "special_tokens_map.json",
    "tf_model.h5",
    "tokenizer.json",
    "tokenizer_config.json",
]


def test_safetensors_repos_skip_the_other_copies_of_the_weights() -> None:
    choice = hf_repo.choose(LLAMA)
    assert choice.fetched == [
        "LICENSE",
        "config.json",
        "generation_config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert choice.skipped == [
        ".gitattributes",
        "original/consolidated.00.pth",
        "original/params.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
        "tf_model.h5",
    ]


def test_a_pytorch_bin_repo_keeps_its_bin() -> None:
    choice = hf_repo.choose(["config.json", "pytorch_model.bin", "flax_model.msgpack", "vocab.txt"])
    assert choice.fetched == ["config.json", "pytorch_model.bin", "vocab.txt"]
    assert "PyTorch weights" in choice.why


def test_without_transformers_weights_every_file_is_kept() -> None:
    """A GGUF-only or ONNX-only repository: nothing to choose between, so all of it."""
    paths = [".gitattributes", "model-q4.gguf", "model.onnx", "README.md"]
    choice = hf_repo.choose(paths)
    assert choice.fetched == ["README.md", "model-q4.gguf", "model.onnx"]


def test_patterns_replace_the_default_choice() -> None:
    choice = hf_repo.choose(LLAMA, allow=["original/*"], ignore=["*.pth"])
    assert choice.fetched == ["original/params.json"]
    assert hf_repo.choose(LLAMA, ignore=["*.safetensors"]).fetched[-3:] == [
        "tf_model.h5",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
