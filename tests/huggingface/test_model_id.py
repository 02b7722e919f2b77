"""`--model_id` as upstream takes it: the server fetches the model from the Hub (HF_ENDPOINT, a
Hub on loopback here: tests/integration/storage/hub_server.py) at `--model_revision`, the
tokenizer at `--tokenizer_revision`, and serves it; a revision the Hub lacks is one line and
exit 1. The real command, in its own process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from conftest import NAME, Reference

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "storage"))
from hub_server import HubServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hub(model_dir: Path) -> Iterator[HubServer]:
    """The tiny GPT-2 pushed as `kserve/tiny-gpt2`: tag v1, then a main whose tokenizer
    config differs (a changed model_max_length), so each revision's files are told apart."""
    server = HubServer()
    files = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()}
    repo = server.repo("kserve/tiny-gpt2")
    repo.push(files, ref="v1")
    config = json.loads(files["tokenizer_config.json"])
    changed = {**files, "tokenizer_config.json": json.dumps({**config, "model_max_length": 7})}
    repo.push({k: v if isinstance(v, bytes) else v.encode() for k, v in changed.items()})
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(server.app(), shutdown_timeout=0.5)
    ready = threading.Event()

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        cdn = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        await cdn.start()
        ports = [s._server.sockets[0].getsockname()[1] for s in (site, cdn)]  # type: ignore[union-attr]
        server.url, server.cdn_url = (f"http://127.0.0.1:{p}" for p in ports)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    assert ready.wait(10)
    yield server
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def command(hub: HubServer, home: Path, *flags: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "kserve_server", "--framework", "huggingface"]
    argv += ["--model_name", NAME, "--http_port", "0", "--enable_grpc", "false", *flags]
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(home),
        "PYTHONPATH": f"{REPO / 'server' / 'src'}",
    }
    return subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)


def wait_ready(port: int) -> None:
    """The model loads after the server listens: poll its readiness as a kubelet would."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/{NAME}", timeout=5):
                return
        except urllib.error.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the model did not become ready within 60 s")


def test_a_model_id_is_fetched_at_its_revision_and_served(
    hub: HubServer, tmp_path: Path, reference: Reference
) -> None:
    proc = command(
        hub,
        tmp_path,
        "--model_id",
        "kserve/tiny-gpt2",
        "--model_revision",
        "v1",
        "--tokenizer_revision",
        "main",
    )
    assert proc.stderr is not None
    try:
        port, seen = None, ""
        for line in proc.stderr:
            seen += line
            if match := re.search(r"listening on [\d.]+:(\d+)", line):
                port = int(match.group(1))
                break
        assert port is not None, seen
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
        wait_ready(port)
        body = {"model": NAME, "prompt": "the quick brown", "max_tokens": 6, "temperature": 0}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/openai/v1/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
        expected, _ = reference.greedy(reference.tokenizer("the quick brown")["input_ids"], 6)
        assert answer["choices"][0]["text"] == expected
    finally:
        proc.terminate()
        proc.wait(30)
    cache = tmp_path / "kserve-py" / "kserve--tiny-gpt2"
    assert sorted(p.name for p in cache.iterdir()) == ["main", "v1"]
    tokenizer = json.loads((cache / "main" / "tokenizer_config.json").read_text())
    assert tokenizer["model_max_length"] == 7  # the tokenizer came from main, the model from v1
    assert 'model_max_length": 7' not in (cache / "v1" / "tokenizer_config.json").read_text()


def test_a_revision_the_hub_lacks_is_one_line_and_exit_1(hub: HubServer, tmp_path: Path) -> None:
    proc = command(hub, tmp_path, "--model_id", "kserve/tiny-gpt2", "--model_revision", "v9")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("kserve-model-server: invalid arguments: --model_id=kserve/tiny-gpt2")
    assert "v9" in last
