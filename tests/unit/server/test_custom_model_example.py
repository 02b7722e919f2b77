"""examples/custom_model/model.py served for real: V1 and V2 through its hooks."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from kserve_server.rest import app as rest_app
from kserve_server.settings import ServerSettings

from .conftest import REPO, loaded


def _example() -> Any:
    path = REPO / "examples" / "custom_model" / "model.py"
    spec = importlib.util.spec_from_file_location("custom_model_example", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def client(aiohttp_client: Any) -> Any:
    model = _example().WordCount("word-count")
    settings = ServerSettings(host="127.0.0.1", http_port=0)
    return await aiohttp_client(rest_app.create_app(settings, await loaded([model])))


async def test_v1(client: Any) -> None:
    resp = await client.post(
        "/v1/models/word-count:predict", json={"instances": ["the cat sat", "hi"]}
    )
    assert await resp.json() == {
        "predictions": [{"words": 2, "longest": "cat"}, {"words": 1, "longest": "hi"}]
    }


async def test_v2_two_outputs_and_parameters(client: Any) -> None:
    tensor = {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["an elephant walks"]}
    resp = await client.post("/v2/models/word-count/infer", json={"inputs": [tensor]})
    body = await resp.json()
    assert body["parameters"] == {"stop_words": 3}
    assert [(o["name"], o["data"]) for o in body["outputs"]] == [
        ("words", [2]),
        ("longest", ["elephant"]),
    ]


async def test_preprocess_rejects_with_400(client: Any) -> None:
    resp = await client.post("/v1/models/word-count:predict", json={"instances": [1]})
    assert resp.status == 400
    assert await resp.json() == {"error": "word-count takes one string per instance"}
