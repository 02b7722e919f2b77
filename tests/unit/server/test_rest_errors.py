"""The error table at the edge: 413 over the limit, 500 when the model raises, no tracebacks."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from kserve_server.errors import InvalidInput, ModelNotFound, ModelNotReady
from kserve_server.inference import PredictRequest, PredictResponse, Request, Response
from kserve_server.rest import app as rest_app
from kserve_server.rest import errors
from kserve_server.runtimes.base import Model
from kserve_server.settings import ServerSettings

from .conftest import loaded


class Exploding(Model):
    def predict(self, request: Request) -> Response:
        instances = request.instances if isinstance(request, PredictRequest) else []
        if instances == ["boom"]:
            raise ZeroDivisionError("division by zero in feature 3")
        return PredictResponse(predictions=instances)  # even to a V2 request: a buggy model


@pytest.fixture
async def exploding(aiohttp_client: Any) -> Any:
    settings = ServerSettings(host="127.0.0.1", http_port=0, max_body_bytes=4096)
    app = rest_app.create_app(settings, await loaded([Exploding("x")]))
    return await aiohttp_client(app)


def test_status_table_follows_the_class_hierarchy() -> None:
    assert errors.status_for(InvalidInput("x")) == 400
    assert errors.status_for(ModelNotFound("m")) == 404
    assert errors.status_for(ModelNotReady("m")) == 503
    assert errors.status_for(NotImplementedError()) == 501
    assert errors.status_for(KeyError("k")) == 500


async def test_model_exception_is_500_with_its_message_and_the_server_answers_on(
    exploding: Any,
) -> None:
    resp = await exploding.post("/v1/models/x:predict", json={"instances": ["boom"]})
    assert resp.status == 500
    body = await resp.json()
    assert body == {"error": "ZeroDivisionError : division by zero in feature 3"}
    ok = await exploding.post("/v1/models/x:predict", json={"instances": [1]})
    assert await ok.json() == {"predictions": [1]}


async def test_body_over_the_limit_is_413(exploding: Any) -> None:
    resp = await exploding.post("/v1/models/x:predict", data=b'{"instances": [' + b"1," * 5000)
    assert resp.status == 413
    assert "Request body too large" in (await resp.json())["error"]
    ok = await exploding.post("/v1/models/x:predict", json={"instances": [1]})
    assert ok.status == 200


async def test_v2_response_to_v1_only_model_is_500(exploding: Any) -> None:
    tensor = {"name": "a", "shape": [1], "datatype": "INT32", "data": [1]}
    resp = await exploding.post("/v2/models/x/infer", json={"inputs": [tensor]})
    assert resp.status == 500
    assert "returned a V1 response to a V2 request" in (await resp.json())["error"]


async def test_not_ready_model_is_503(aiohttp_client: Any) -> None:
    from kserve_server.repository import ModelRepository

    settings = ServerSettings(host="127.0.0.1", http_port=0)
    repository = ModelRepository([Exploding("x")])
    app = rest_app.create_app(settings, repository)
    app.cleanup_ctx.clear()  # keep it unloaded: no lifespan load
    client = await aiohttp_client(app)
    for method, path in [
        ("GET", "/v1/models/x"),
        ("POST", "/v1/models/x:predict"),
        ("GET", "/v2/models/x/ready"),
        ("POST", "/v2/models/x/infer"),
    ]:
        resp = await client.request(method, path, json={"instances": [1]})
        assert resp.status == 503, path
        assert await resp.json() == {"error": "Model with name x is not ready."}


def test_every_route_is_in_the_openapi_document() -> None:
    from kserve_server.rest import openapi

    app = rest_app.create_app(
        ServerSettings(), __import__("kserve_server.repository").repository.ModelRepository()
    )
    documented = {
        (method.upper(), path)
        for path, item in openapi.document()["paths"].items()
        for method in item
    }
    served = {
        (route.method, route.resource.canonical)  # type: ignore[union-attr]
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    undocumented = served - documented - {("GET", "/metrics"), ("GET", "/openapi.json")}
    assert not undocumented
    assert web  # aiohttp is the edge under test
