"""A Hugging Face model that cannot be served fails its load with the reason (which the server
writes to the termination log, and the InferenceService shows), never a crash loop or a model
quietly serving random weights."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from kserve_server import generation
from kserve_server.errors import ModelLoadError
from kserve_server.hf_settings import HuggingFaceOptions
from kserve_server.runtimes import hf_memory, huggingface
from kserve_server.runtimes.generative import TextModel
from kserve_server.sampling import Sampling
from kserve_server.settings import ModelSpec


def load(model_dir: Path, **options: object) -> None:
    spec = ModelSpec(
        name="m",
        model_dir=model_dir,
        framework="huggingface",
        huggingface=HuggingFaceOptions(**options),  # type: ignore[arg-type]
    )
    huggingface.create(spec).load()


def test_a_task_the_checkpoint_has_no_head_for_names_the_missing_weights(model_dir: Path) -> None:
    with pytest.raises(ModelLoadError) as caught:
        load(model_dir, task="sequence_classification")
    message = str(caught.value)
    assert "cannot do sequence_classification" in message and "score.weight" in message
    assert "--task=text_generation" in message


def test_a_task_the_architecture_cannot_do_says_so(model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot do fill_mask: Unrecognized configuration"):
        load(model_dir, task="fill_mask")


def test_a_config_naming_no_known_architecture_asks_for_task(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    with pytest.raises(ModelLoadError, match=r"couldn.t be inferred from BertModel.*--task"):
        load(tmp_path)


def test_custom_code_needs_trust_remote_code(tmp_path: Path, model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "auto_map": {"x": "m.X"}}))
    with pytest.raises(ModelLoadError, match="--trust_remote_code"):
        load(tmp_path)


def test_a_max_model_len_past_the_positions_is_refused(model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="--max_model_len=100 is more than the model reads"):
        load(model_dir, max_model_len=100)


def test_weights_are_counted_at_the_load_dtype_against_the_cgroup_limit(
    model_dir: Path, tmp_path: Path
) -> None:
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
    numel = sum(p.numel() for p in model.parameters())  # tied weights once, as saved
    assert hf_memory.weight_bytes(model_dir, float_bytes=4) == 4 * numel
    assert hf_memory.weight_bytes(model_dir, float_bytes=2) == 2 * numel
    (tmp_path / "memory.max").write_text("1048576\n")
    assert hf_memory.limit(tmp_path) == 1 << 20
    (tmp_path / "memory.max").write_text("max\n")
    assert hf_memory.limit(tmp_path) is None
    hf_memory.check(2 << 20, limit_bytes=None, used=0, dtype="float32", name="m")
    with pytest.raises(ModelLoadError) as caught:
        hf_memory.check(3 << 20, limit_bytes=4 << 20, used=2 << 20, dtype="float32", name="m")
    assert "3 MiB in float32" in str(caught.value)
    assert "memory limit is 4 MiB with 2 MiB already in use" in str(caught.value)


def test_generations_past_the_cap_wait_their_turn(model_dir: Path) -> None:
    spec = ModelSpec(
        name="m",
        model_dir=model_dir,
        framework="huggingface",
        huggingface=HuggingFaceOptions(max_concurrent_generations=1),
    )
    model = huggingface.create(spec)
    assert isinstance(model, TextModel)
    model.load()
    running, most = 0, 0
    lock = threading.Lock()
    inner = model.generate

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            for step in inner(*args, **kwargs):  # type: ignore[arg-type]
                time.sleep(0.002)
                yield step
        finally:
            with lock:
                running -= 1

    model.generate = counted  # type: ignore[method-assign]

    async def one(prompt: str) -> str:
        ids = model.prompt_ids(prompt)
        return "".join(
            [s.text async for s in generation.stream(model, ids, Sampling(10, temperature=0))]
        )

    async def three() -> list[str]:
        return await asyncio.gather(*(one(p) for p in ("the quick", "hello", "a model")))

    answers = asyncio.run(three())
    assert most == 1 and all(isinstance(a, str) for a in answers)
    assert len(answers) == 3  # queued, none refused
