"""V1 endpoints: HTTP only; decoding and inference live in protocol/ and the data plane.

The handlers are methods of one object holding the app's parts, as in v2.py."""

from __future__ import annotations

import orjson
from aiohttp import web

from kserve_server.dataplane import DataPlane
from kserve_server.errors import InferenceError
from kserve_server.inference import PredictResponse, Response
from kserve_server.protocol import cloudevents, v1
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

    async def live(self, request: web.Request) -> web.Response:
        return _json({"status": "alive"})

    async def list_models(self, request: web.Request) -> web.Response:
        return _json({"models": self.dataplane.models()})

    async def model_ready(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json(self.dataplane.v1_model_status(name))

    async def predict(self, request: web.Request) -> web.Response:
        return await self._run(request, explain=False)

    async def explain(self, request: web.Request) -> web.Response:
        return await self._run(request, explain=True)

    async def _run(self, request: web.Request, *, explain: bool) -> web.Response:
        name = request.match_info["name"]
        dataplane = self.dataplane
        dataplane.check_model(name)  # 404/503 before reading a large body
        raw = await body.read(request, self.body_limits)
        event = cloudevents.detect(request.headers, request.content_type)
        decoding = self.decoding
        infer = dataplane.explain if explain else dataplane.infer
        if decoding.inline(len(raw)):  # as `slot` would run it, without the slot's awaits
            decoded = v1.decode(cloudevents.request_body(event, raw) if event else raw)
            payload = _encode(name, await infer(name, decoded))
        else:
            async with decoding.slot(len(raw)) as run:
                decoded = await run(
                    v1.decode, cloudevents.request_body(event, raw) if event else raw
                )
                del raw  # a large body's bytes are not needed past decoding
                payload = await run(_encode, name, await infer(name, decoded))
        if event is not None:
            headers, payload = cloudevents.response(event, model=name, body=payload)
            return web.Response(body=payload, headers=headers)
        return web.Response(body=payload, content_type="application/json")


def _encode(name: str, response: Response) -> bytes:
    if not isinstance(response, PredictResponse):
        raise InferenceError(f"model {name} returned a V2 response to a V1 request")
    return v1.encode(response)
