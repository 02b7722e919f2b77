"""Fixtures: models trained in the session from repo/scikit-learn data; settings → repository →
app → client (a real socket, via pytest-aiohttp), and a server on a background thread for sync
clients (curl, tritonclient, schemathesis) from tests/conftest.py's `server_thread`."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from kserve_server.repository import ModelRepository
from kserve_server.rest import app as rest_app
from kserve_server.runtimes.base import Model
from kserve_server.settings import ModelSpec, ServerSettings

REPO = Path(__file__).resolve().parents[3]


def _train_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_train", REPO / "examples" / "train.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/train.py's two tutorial models: sklearn-iris/ and intent-classifier/."""
    out = tmp_path_factory.mktemp("models")
    train = _train_module()
    train.train_iris(out)
    train.train_intent(out)
    return out


@pytest.fixture(scope="session")
def iris_spec(models_dir: Path) -> ModelSpec:
    return ModelSpec(name="sklearn-iris", model_dir=models_dir / "sklearn-iris")


@pytest.fixture(scope="session")
def intent_spec(models_dir: Path) -> ModelSpec:
    return ModelSpec(name="intent-classifier", model_dir=models_dir / "intent-classifier")


@pytest.fixture
def settings() -> ServerSettings:
    return ServerSettings(host="127.0.0.1", http_port=0, grace_period=5)


async def loaded(models: Sequence[ModelSpec | Model], **kwargs: object) -> ModelRepository:
    repository = ModelRepository(models, **kwargs)  # type: ignore[arg-type]
    await repository.load_all()
    return repository


AppClient = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(
    aiohttp_client: object, settings: ServerSettings, iris_spec: ModelSpec, intent_spec: ModelSpec
) -> AsyncIterator[AppClient]:
    """Both tutorial models, loaded, behind a real socket."""
    repository = await loaded([iris_spec, intent_spec])
    yield await aiohttp_client(rest_app.create_app(settings, repository))  # type: ignore[operator]


@pytest.fixture(scope="module")
def live_server(models_dir: Path, server_thread: Any) -> Iterator[str]:
    """host:port of a server with both tutorial models, on a background thread."""
    models = [
        ModelSpec(name="sklearn-iris", model_dir=models_dir / "sklearn-iris"),
        ModelSpec(name="intent-classifier", model_dir=models_dir / "intent-classifier"),
    ]
    with server_thread(models) as running:
        yield f"127.0.0.1:{running.port}"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> str:
        assert self.headers["content-type"].startswith("application/json"), self.headers
        return str(orjson.loads(self.body)["error"])


async def exchange(port: int, raw: bytes) -> Answer:
    """Send raw bytes, read one response (the server closes after a client error)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)
        }
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 30)
        return Answer(status, headers, body)
    finally:
        writer.close()
