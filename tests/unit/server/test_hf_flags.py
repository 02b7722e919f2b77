"""`kserve-model-server --framework huggingface` takes upstream huggingfaceserver's flags: what a
user's YAML passes either works, or the process exits naming the flag (before any model)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kserve_server import hf_flags
from kserve_server.__main__ import parser
from kserve_server.hf_settings import HuggingFaceOptions


def options(*argv: str) -> HuggingFaceOptions:
    args, unknown = parser().parse_known_args(["--framework", "huggingface", *argv])
    hf_flags.refuse_unknown(unknown)
    return hf_flags.options(args)


def refused(*argv: str) -> str:
    """What the real command says when it refuses these flags (exit status 1, one line)."""
    done = subprocess.run(
        [sys.executable, "-m", "kserve_server", "--framework", "huggingface", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return done.stderr.strip().splitlines()[-1]


def test_upstreams_flags_become_the_models_options() -> None:
    got = options(
        "--task=sequence_classification",
        "--max_model_len=128",
        "--dtype=bfloat16",
        "--trust_remote_code",
        "--disable_lower_case",
        "--disable_special_tokens",
        "--return_probabilities",
        "--return_token_type_ids",
        "--backend=huggingface",
    )
    assert got == HuggingFaceOptions(
        task="sequence_classification",
        max_model_len=128,
        dtype="bfloat16",
        trust_remote_code=True,
        do_lower_case=False,
        add_special_tokens=False,
        return_probabilities=True,
        return_token_type_ids=True,
    )
    assert options() == HuggingFaceOptions()  # task from config.json, dtype auto


def test_the_deprecated_max_length_still_sets_max_model_len(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert options("--max_length", "256").max_model_len == 256
    assert "--max_length is deprecated" in caplog.text


def test_vllm_engine_flags_are_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    got = options("--max-model-len=1024", "--gpu-memory-utilization=0.95", "--enforce-eager")
    assert got.max_model_len == 1024  # vLLM's name for the same setting
    assert "--gpu-memory-utilization is a vLLM engine flag: no effect" in caplog.text
    assert "--enforce-eager is a vLLM engine flag" in caplog.text


def test_the_vllm_backend_is_refused_by_name() -> None:
    assert "--backend=vllm: vLLM is not available" in refused("--backend=vllm")


def test_an_unknown_flag_is_refused_by_name() -> None:
    line = refused("--model_name=m", "--no_such_flag=3")
    assert "unknown arguments for the huggingface runtime: --no_such_flag" in line


def test_an_unknown_task_lists_the_supported_ones() -> None:
    line = refused("--task=question_answering")
    assert "Unsupported task: question_answering" in line and "text2text_generation" in line


def test_probabilities_and_raw_logits_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        options("--return_probabilities", "--return_raw_logits")


def test_other_frameworks_still_ignore_unknown_flags_as_upstream() -> None:
    _, unknown = parser().parse_known_args(["--framework", "sklearn", "--no_such_flag"])
    assert unknown == ["--no_such_flag"]
