"""hf:// against a Hugging Face Hub on loopback (hub_server.py) serving a tiny model repository."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from hub_server import HubServer
from test_storage_cli import run

from kserve_server.storage import fetch
from kserve_server.storage.errors import AccessDeniedError, NotFoundError, StorageError
from kserve_server.storage.settings import StorageSettings


def safetensors(tensors: dict[str, list[float]]) -> bytes:
    """A real safetensors file (header length, JSON header, little-endian F32 data)."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, values in sorted(tensors.items()):
        raw = struct.pack(f"<{len(values)}f", *values)
        header[name] = {
            "dtype": "F32",
            "shape": [len(values)],
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + data


def tiny_model(seed: int) -> dict[str, bytes]:
    """A GPT-2-shaped repository as `save_pretrained` and the Hub leave it, with the copies a
    model needs no more (TF, Flax, a .bin beside the safetensors) and a sub-directory."""
    weights = safetensors({"wte.weight": [seed + i / 8 for i in range(512)]})  # 2 KiB: "LFS"
    config = {"model_type": "gpt2", "n_layer": 2, "n_embd": 32, "n_head": 2, "vocab_size": 16}
    return {
        ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
        "README.md": f"# tiny gpt2 {seed}\n".encode(),
        "config.json": json.dumps(config).encode(),
        "generation_config.json": b'{"do_sample": false}',
        "model.safetensors": weights,
        "pytorch_model.bin": b"\x80\x02torch" * 300,
        "tf_model.h5": b"\x89HDF\r\n" * 300,
        "flax_model.msgpack": b"\x82flax" * 300,
        "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE"}}).encode(),
        "tokenizer_config.json": b'{"chat_template": "{{ messages }}"}',
        "onnx/model.onnx": b"onnx" * 400,
        "extra/notes.txt": b"kept: not a weight format",
    }


NEEDED = [
    "README.md",
    "config.json",
    "extra/notes.txt",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
]


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def on_hub(settings: StorageSettings, hub: HubServer) -> StorageSettings:
    settings.hf_endpoint = hub.url
    return settings


async def test_the_files_a_model_needs_land_in_the_destination(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    model = tiny_model(1)
    hub.repo("tiny/gpt2").push(model)
    dest = tmp_path / "mnt-models"
    await fetch("hf://tiny/gpt2", dest, settings=on_hub)
    assert files(dest) == {name: model[name] for name in NEEDED}  # no .cache/huggingface left
    assert hub.requested() == NEEDED  # the copies were never requested


async def test_a_tag_pins_its_commit_for_every_file(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    repo = hub.repo("tiny/gpt2")
    old = repo.push(tiny_model(1), ref="v1.0")
    repo.push(tiny_model(2), ref="main")
    await fetch("hf://tiny/gpt2:v1.0", tmp_path / "m", settings=on_hub)
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == tiny_model(1)["model.safetensors"]
    fetched = [path for method, path, _ in hub.requests if "/resolve/" in path]
    assert fetched and all(f"/resolve/{old}/" in path for path in fetched)
    assert {p for _, p, _ in hub.requests if "/tree/" in p} == {f"/api/models/tiny/gpt2/tree/{old}"}


async def test_a_commit_sha_as_the_revision(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    repo = hub.repo("tiny/gpt2")
    first = repo.push(tiny_model(1))
    repo.push(tiny_model(2))
    await fetch(f"hf://tiny/gpt2:{first}", tmp_path / "m", settings=on_hub)
    assert (tmp_path / "m" / "README.md").read_bytes() == b"# tiny gpt2 1\n"


async def test_upstreams_patterns_replace_the_choice(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    hub.repo("tiny/gpt2").push(tiny_model(1))
    on_hub.allow_patterns = '["*.json", "*.h5"]'
    on_hub.ignore_patterns = "generation_config.json"
    await fetch("hf://tiny/gpt2", tmp_path / "m", settings=on_hub)
    assert sorted(files(tmp_path / "m")) == [
        "config.json",
        "tf_model.h5",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


async def test_a_private_repo_is_fetched_with_the_token(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    hub.repo("acme/private-gpt2", token="hf_acme_read").push(tiny_model(3))
    with pytest.raises(NotFoundError, match="private and no HF_TOKEN is set"):
        await fetch("hf://acme/private-gpt2", tmp_path / "m", settings=on_hub)
    assert not (tmp_path / "m").exists()
    on_hub.hf_token = "hf_acme_read"  # type: ignore[assignment]  # pydantic makes it SecretStr
    on_hub = StorageSettings.model_validate(on_hub.model_dump())
    await fetch("hf://acme/private-gpt2", tmp_path / "m", settings=on_hub)
    assert files(tmp_path / "m")["config.json"] == tiny_model(3)["config.json"]
    assert {auth for method, path, auth in hub.requests if "/resolve/" in path} == {
        "Bearer hf_acme_read"
    }


async def test_a_token_the_hub_refuses_is_named_without_its_value(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    hub.repo("acme/private-gpt2", token="hf_acme_read").push(tiny_model(3))
    wrong = StorageSettings.model_validate({**on_hub.model_dump(), "hf_token": "hf_stale"})
    with pytest.raises(AccessDeniedError, match="HF_TOKEN does not grant access") as caught:
        await fetch("hf://acme/private-gpt2", tmp_path / "m", settings=wrong)
    assert "hf_stale" not in str(caught.value)


async def test_a_missing_repo_and_a_malformed_uri(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match=r"repository nobody/nothing not found at http://"):
        await fetch("hf://nobody/nothing", tmp_path / "m", settings=on_hub)
    with pytest.raises(StorageError, match=r"expected hf://owner/model\[:revision\]"):
        await fetch("hf://gpt2", tmp_path / "m", settings=on_hub)


async def test_a_503_from_the_hub_is_retried(
    hub: HubServer, on_hub: StorageSettings, tmp_path: Path
) -> None:
    hub.repo("tiny/gpt2").push(tiny_model(1))
    hub.unavailable["model.safetensors"] = 2
    await fetch("hf://tiny/gpt2", tmp_path / "m", settings=on_hub)
    assert files(tmp_path / "m")["model.safetensors"] == tiny_model(1)["model.safetensors"]
    assert hub.unavailable["model.safetensors"] == 0


async def test_the_initializer_reads_hf_endpoint_and_hf_token_and_logs_progress(
    hub: HubServer, tmp_path: Path
) -> None:
    hub.repo("acme/private-gpt2", token="hf_acme_read").push(tiny_model(4))
    done = await run(
        "hf://acme/private-gpt2:main",
        str(tmp_path / "m"),
        env={
            "HF_ENDPOINT": hub.url,
            "HF_TOKEN": "hf_acme_read",
            "STORAGE_PROGRESS_INTERVAL": "0.001",
        },
    )
    assert done.returncode == 0, done.stderr
    assert sorted(files(tmp_path / "m")) == NEEDED
    assert re.search(
        r"hf://acme/private-gpt2:main: revision main is commit [0-9a-f]{40}; "
        r"fetching 7 of 12 files \(2\.\d KiB\)",
        done.stderr,
    ), done.stderr
    assert re.search(r"skipped \.gitattributes, flax_model\.msgpack, onnx/model\.onnx", done.stderr)
    assert re.search(r"downloaded hf://acme/private-gpt2:main: 2\.\d KiB in", done.stderr)
    assert "hf_acme_read" not in done.stderr


async def test_a_missing_revision_exits_1_with_one_line(hub: HubServer, tmp_path: Path) -> None:
    hub.repo("tiny/gpt2").push(tiny_model(1))
    log = tmp_path / "termination-log"
    log.touch()
    done = await run(
        "hf://tiny/gpt2:v9",
        str(tmp_path / "m"),
        env={"HF_ENDPOINT": hub.url, "STORAGE_TERMINATION_LOG": str(log)},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    reason = f"hf://tiny/gpt2:v9: revision 'v9' not found in tiny/gpt2 at {hub.url}"
    assert done.stderr.strip().splitlines()[-1] == f"storage-initializer: error: {reason}"
    assert log.read_text() == reason
    assert not (tmp_path / "m").exists()
