"""The middleware every request passes through: the in-flight count a shutdown drains
(drain.py), the inference request metrics (metrics.py: count, latency, in flight) and errors
answered as JSON (errors.py), in that order from the outside in. One frame for the three:
stacked, each cost a partial call and a coroutine a request, a measurable share of a small
inference request's CPU."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from kserve_server.rest import errors
from kserve_server.rest.drain import Drain
from kserve_server.rest.errors import Handler
from kserve_server.rest.metrics import INFERENCE_SUFFIXES, Metrics


def create(*, drain: Drain, metrics: Metrics) -> Middleware:
    @web.middleware
    async def serve(request: web.Request, handler: Handler) -> web.StreamResponse:
        # inference requests are counted, timed and in flight by model and protocol
        counted = request.method == "POST" and request.path.endswith(INFERENCE_SUFFIXES)
        model = protocol = ""
        if counted:
            model = request.match_info.get("name", "")
            protocol = "v2" if request.path.startswith("/v2/") else "v1"
            metrics.enter(model, protocol)
        drain.enter()
        started = time.perf_counter()
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise  # redirects stay redirects
                response = errors.http_error(exc, request)
            except (HttpProcessingError, web.RequestPayloadError) as exc:
                response = errors.broken_body(exc, request)
            except Exception as exc:
                response = errors.failure(exc, request)
            if counted and (status := response.status) != 404:  # no label set per unknown name
                metrics.count_request(model, protocol, str(status), time.perf_counter() - started)
            if drain.draining and not response.prepared:
                response.force_close()  # the client's next request goes to another pod
            return response
        finally:
            if counted:
                metrics.leave(model, protocol)
            drain.leave()

    return serve
