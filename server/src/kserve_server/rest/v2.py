"""Open Inference Protocol (V2) endpoints, including the binary tensor and repository extensions."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from kserve_server.errors import InferenceError, InvalidInput
from kserve_server.inference import InferResponse
from kserve_server.protocol import v2, v2_binary
from kserve_server.rest.keys import DATAPLANE


def _json(value: object, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


async def server_metadata(request: web.Request) -> web.Response:
    return _json(request.app[DATAPLANE].server_metadata())


async def live(request: web.Request) -> web.Response:
    return _json({"live": request.app[DATAPLANE].live()})


async def ready(request: web.Request) -> web.Response:
    request.app[DATAPLANE].ready()
    return _json({"ready": True})


async def list_models(request: web.Request) -> web.Response:
    return _json({"models": request.app[DATAPLANE].models()})


async def model_metadata(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    metadata = request.app[DATAPLANE].model_metadata(name)
    return _json(
        {
            "name": name,
            "versions": None,
            "platform": metadata.platform,
            "inputs": [vars(spec) for spec in metadata.inputs],
            "outputs": [vars(spec) for spec in metadata.outputs],
        }
    )


async def model_ready(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    request.app[DATAPLANE].check_model(name)
    return _json({"name": name, "ready": True})


async def infer(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    dataplane = request.app[DATAPLANE]
    dataplane.check_model(name)  # 404/503 before reading a large body
    body = await request.read()
    header = request.headers.get(v2_binary.HEADER)
    if header is not None:  # binary extension; without the header the body is all JSON
        typed, chunks = v2_binary.split(body, header)
    else:
        typed, chunks = v2.validate(v2.loads(body)), {}
    infer_request = v2.decode(typed, binary=chunks)
    response = await dataplane.infer(name, infer_request)
    if not isinstance(response, InferResponse):
        raise InferenceError(f"model {name} returned a V1 response to a V2 request")
    binary = v2.binary_outputs(infer_request)
    if binary:
        payload, length = v2_binary.encode(response, infer_request, binary=binary)
        return web.Response(
            body=payload,
            content_type="application/octet-stream",
            headers={v2_binary.HEADER: str(length)},
        )
    return web.Response(body=v2.encode(response, infer_request), content_type="application/json")


async def repository_index(request: web.Request) -> web.Response:
    ready_only = False
    body = await request.read()
    if body.strip():
        options: Any = v2.loads(body)
        if not isinstance(options, dict):
            raise InvalidInput("the index request body must be a JSON object")
        ready_only = options.get("ready") is True
    return _json(request.app[DATAPLANE].index(ready_only=ready_only))


async def repository_load(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await request.app[DATAPLANE].load(name)
    return _json({"name": name, "load": True})


async def repository_unload(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await request.app[DATAPLANE].unload(name)
    return _json({"name": name, "unload": True})
