"""server.start/serve: several models from one process, readiness only when loaded, failures."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import aiohttp
import pytest

from kserve_server import server
from kserve_server.inference import PredictRequest, PredictResponse, Request, Response
from kserve_server.runtimes.base import Model
from kserve_server.settings import ModelSpec, ServerSettings


class Gated(Model):
    """Loads only when the test opens the gate."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.gate = threading.Event()

    def load(self) -> None:
        assert self.gate.wait(30)

    def predict(self, request: Request) -> Response:
        assert isinstance(request, PredictRequest)
        return PredictResponse(predictions=request.instances)


class Broken(Model):
    def load(self) -> None:
        raise RuntimeError("weights are corrupt")

    def predict(self, request: Request) -> Response:
        raise AssertionError("never called")


def settings(**kwargs: object) -> ServerSettings:
    return ServerSettings(host="127.0.0.1", http_port=0, grace_period=5, **kwargs)  # type: ignore[arg-type]


async def test_serves_several_models_from_one_process(models_dir: Path) -> None:
    running = await server.start(
        settings(),
        models=[
            ModelSpec(name="sklearn-iris", model_dir=models_dir / "sklearn-iris"),
            ModelSpec(name="intent-classifier", model_dir=models_dir / "intent-classifier"),
        ],
    )
    base = f"http://127.0.0.1:{running.port}"
    try:
        await asyncio.wait_for(asyncio.shield(running.repository.loading), 60)  # type: ignore[arg-type]
        async with aiohttp.ClientSession() as http:
            ready = await http.get(f"{base}/v2/health/ready")
            assert ready.status == 200
            iris = await http.post(
                f"{base}/v1/models/sklearn-iris:predict", json={"instances": [[6.8, 2.8, 4.8, 1.4]]}
            )
            assert await iris.json() == {"predictions": [1]}
            intent = await http.post(
                f"{base}/v1/models/intent-classifier:predict",
                json={"instances": [["Hi, how are you?"]]},
            )
            assert await intent.json() == {"predictions": ["greeting"]}
    finally:
        running.stop()
        assert await running.wait() == 0


async def test_not_ready_until_loaded_while_live() -> None:
    model = Gated("slow")
    running = await server.start(settings(), models=[model])
    base = f"http://127.0.0.1:{running.port}"
    try:
        async with aiohttp.ClientSession() as http:
            assert (await http.get(f"{base}/v2/health/live")).status == 200
            ready = await http.get(f"{base}/v2/health/ready")
            assert ready.status == 503
            assert "slow" in (await ready.json())["error"]
            early = await http.post(f"{base}/v1/models/slow:predict", json={"instances": [1]})
            assert early.status == 503
            assert await early.json() == {"error": "Model with name slow is not ready."}
            model.gate.set()
            await asyncio.wait_for(asyncio.shield(running.repository.loading), 30)  # type: ignore[arg-type]
            assert (await http.get(f"{base}/v2/health/ready")).status == 200
            late = await http.post(f"{base}/v1/models/slow:predict", json={"instances": [1]})
            assert await late.json() == {"predictions": [1]}
    finally:
        model.gate.set()
        running.stop()
        await running.wait()


async def test_failed_load_exits_1_by_default() -> None:
    running = await server.start(settings(), models=[Broken("broken")])
    assert await asyncio.wait_for(running.wait(), 30) == 1


async def test_failed_load_keeps_serving_when_asked() -> None:
    running = await server.start(settings(exit_on_load_failure=False), models=[Broken("broken")])
    base = f"http://127.0.0.1:{running.port}"
    try:
        await asyncio.wait_for(asyncio.shield(running.repository.loading), 30)  # type: ignore[arg-type]
        async with aiohttp.ClientSession() as http:
            ready = await http.get(f"{base}/v2/health/ready")
            assert ready.status == 503
            assert "weights are corrupt" in (await ready.json())["error"]
            model = await http.get(f"{base}/v2/models/broken/ready")
            assert model.status == 503
            assert "RuntimeError: weights are corrupt" in (await model.json())["error"]
    finally:
        running.stop()
        assert await running.wait() == 0


def test_duplicate_names_are_refused(models_dir: Path) -> None:
    spec = ModelSpec(name="a", model_dir=models_dir / "sklearn-iris")
    with pytest.raises(ValueError, match="two models are named 'a'"):
        asyncio.run(server.start(settings(), models=[spec, spec]))


async def test_access_and_latency_logs_when_enabled(
    models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    spec = ModelSpec(name="sklearn-iris", model_dir=models_dir / "sklearn-iris")
    running = await server.start(
        settings(access_log=True, enable_latency_logging=True), models=[spec]
    )
    base = f"http://127.0.0.1:{running.port}"
    try:
        await asyncio.wait_for(asyncio.shield(running.repository.loading), 60)  # type: ignore[arg-type]
        async with aiohttp.ClientSession() as http:
            await http.post(
                f"{base}/v1/models/sklearn-iris:predict",
                json={"instances": [[6.8, 2.8, 4.8, 1.4]]},
                headers={"User-Agent": "probe/1"},
            )
    finally:
        running.stop()
        await running.wait()
    access = [r.getMessage() for r in caplog.records if r.name == "kserve_server.access"]
    assert any('"POST /v1/models/sklearn-iris:predict HTTP/1.1" 200' in m for m in access)
    assert any("probe/1" in m for m in access)
    trace = [r.getMessage() for r in caplog.records if r.name == "kserve_server.trace"]
    assert any(m.startswith("model sklearn-iris: infer in") for m in trace)
    assert not any("6.8" in r.getMessage() for r in caplog.records)  # never a request body
