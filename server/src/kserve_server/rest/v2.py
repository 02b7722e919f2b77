"""Open Inference Protocol (V2) endpoints, including the binary tensor and repository extensions.

The handlers are methods of one object holding the app's parts (rest/app.py routes to them), so
a request looks nothing up in the app's state (each lookup costs calls, on every request)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from kserve_server.dataplane import DataPlane
from kserve_server.errors import InferenceError, InvalidInput
from kserve_server.inference import InferRequest, InferResponse, Response
from kserve_server.protocol import v2, v2_binary
from kserve_server.rest import body
from kserve_server.rest.body import BodyLimits
from kserve_server.rest.decoding import Decoding


def _json(value: object, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")


class Endpoints:
    def __init__(self, dataplane: DataPlane, *, body_limits: BodyLimits, decoding: Decoding):
        self.dataplane = dataplane
        self.body_limits = body_limits
        self.decoding = decoding

    async def server_metadata(self, request: web.Request) -> web.Response:
        return _json(self.dataplane.server_metadata())

    async def live(self, request: web.Request) -> web.Response:
        return _json({"live": self.dataplane.live()})

    async def ready(self, request: web.Request) -> web.Response:
        self.dataplane.ready()
        return _json({"ready": True})

    async def list_models(self, request: web.Request) -> web.Response:
        return _json({"models": self.dataplane.models()})

    async def model_metadata(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        metadata = self.dataplane.model_metadata(name)
        return _json(
            {
                "name": name,
                "versions": None,
                "platform": metadata.platform,
                "inputs": [vars(spec) for spec in metadata.inputs],
                "outputs": [vars(spec) for spec in metadata.outputs],
            }
        )

    async def model_ready(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.dataplane.check_model(name)
        return _json({"name": name, "ready": True})

    async def infer(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        dataplane = self.dataplane
        dataplane.check_model(name)  # 404/503 before reading a large body
        raw = await body.read(request, self.body_limits)
        header = request.headers.get(v2_binary.HEADER)
        decoding = self.decoding
        if decoding.inline(len(raw)):  # as `slot` would run it, without the slot's awaits
            infer_request = _decode(raw, header)
            response = await dataplane.infer(name, infer_request)
            payload, binary_length = _encode(name, response, infer_request)
        else:
            async with decoding.slot(len(raw)) as run:
                infer_request = await run(_decode, raw, header)
                del raw  # a large body's bytes are not needed past decoding
                response = await dataplane.infer(name, infer_request)
                payload, binary_length = await run(_encode, name, response, infer_request)
        if binary_length is not None:
            return web.Response(
                body=payload,
                content_type="application/octet-stream",
                headers={v2_binary.HEADER: str(binary_length)},
            )
        return web.Response(body=payload, content_type="application/json")

    async def repository_index(self, request: web.Request) -> web.Response:
        ready_only = False
        raw = await body.read(request, self.body_limits)
        if raw.strip():
            options: Any = v2.loads(raw)
            if not isinstance(options, dict):
                raise InvalidInput("the index request body must be a JSON object")
            ready_only = options.get("ready") is True
        return _json(self.dataplane.index(ready_only=ready_only))

    async def repository_load(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self.dataplane.load(name)
        return _json({"name": name, "load": True})

    async def repository_unload(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self.dataplane.unload(name)
        return _json({"name": name, "unload": True})


def _decode(raw: bytes, header: str | None) -> InferRequest:
    if header is None:  # all JSON
        return v2.parse(v2.loads(raw))
    typed, chunks = v2_binary.split(raw, header)  # binary extension
    return v2.decode(typed, binary=chunks)


def _encode(name: str, response: Response, request: InferRequest) -> tuple[bytes, int | None]:
    """The body, and the length of its JSON part when outputs are sent binary (else None)."""
    if not isinstance(response, InferResponse):
        raise InferenceError(f"model {name} returned a V1 response to a V2 request")
    binary = v2.binary_outputs(request)
    if binary:
        return v2_binary.encode(response, request, binary=binary)
    return v2.encode(response, request), None
