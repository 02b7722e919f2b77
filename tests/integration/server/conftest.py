"""A server with the tutorial's two models (trained here) on REST and gRPC, on a background
thread, for blocking clients (the upstream SDK's venv fixture, `sdk_python`, is in
tests/integration/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from payload_servers import Process

from kserve_server.settings import ModelSpec

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Served:
    http_port: int
    grpc_port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, server_thread: Any) -> Iterator[Served]:
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "train.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    models = [
        ModelSpec(name="sklearn-iris", model_dir=out / "sklearn-iris"),
        ModelSpec(name="intent-classifier", model_dir=out / "intent-classifier"),
    ]
    with server_thread(models, models_root=out, grpc_port=0) as running:
        assert running.grpc_port is not None
        yield Served(http_port=running.port, grpc_port=running.grpc_port)


# The tutorial's iris model, trained here, and the server/agent processes a payload test starts
# (killed at the end if still running): shared by the logger and batcher tests.
@pytest.fixture(scope="module")
def iris_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "train.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out / "sklearn-iris"


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        if process.process is not None and process.process.poll() is None:
            process.process.kill()
            process.process.wait()
