"""create_app: the aiohttp application from explicit parts; the whole route table is here.

What only a setting turns on (payload logging, batching, the OpenAPI document) is imported when
it is used, so a server without it starts without importing it.
"""

from __future__ import annotations

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from kserve_server.dataplane import DataPlane
from kserve_server.repository import ModelRepository
from kserve_server.rest import middleware, openai, v1, v2
from kserve_server.rest.body import BodyLimits
from kserve_server.rest.connection import ClientErrorLog
from kserve_server.rest.decoding import Decoding, DecodingLimits
from kserve_server.rest.drain import Drain
from kserve_server.rest.keys import CLIENT_ERRORS, DATAPLANE, DRAIN
from kserve_server.rest.metrics import Metrics
from kserve_server.rest.token_metrics import TokenMetrics
from kserve_server.settings import ServerSettings

METRICS = web.AppKey("metrics", Metrics)


def create_app(settings: ServerSettings, repository: ModelRepository) -> web.Application:
    """The app; models load in the background once it starts (see ModelRepository.lifespan)."""
    metrics = Metrics()
    drain = Drain()
    middlewares: list[Middleware] = [middleware.create(drain=drain, metrics=metrics)]
    logger = None
    if settings.logger is not None:
        from kserve_server.payload import logger as payload_logger
        from kserve_server.rest import payload

        logger = payload_logger.create(settings.logger)
        middlewares.append(payload.middleware(logger))
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[METRICS] = metrics
    app[DRAIN] = drain
    app[CLIENT_ERRORS] = ClientErrorLog()
    body_limits = BodyLimits(
        max_bytes=settings.max_body_bytes,
        first_byte_timeout=settings.body_first_byte_timeout,
        total_timeout=settings.body_read_timeout,
        tapped=logger is not None,
    )
    decoding = Decoding(
        DecodingLimits(
            inline_max_bytes=settings.max_inline_decode_bytes,
            max_bytes=settings.max_decoding_bytes,
            max_waiters=settings.max_decoding_waiters,
            max_wait=settings.decoding_wait_timeout,
        )
    )
    batchers = None
    if settings.batcher is not None:
        from kserve_server.batching import BatchingDataPlane

        batching = BatchingDataPlane(
            repository,
            batcher=settings.batcher,
            observe=metrics.observe_stages,
            latency_logging=settings.enable_latency_logging,
        )
        batchers = {"v1": batching.v1.stats, "v2": batching.v2.stats}
        dataplane: DataPlane = batching
    else:
        dataplane = DataPlane(
            repository,
            observe=metrics.observe_stages,
            latency_logging=settings.enable_latency_logging,
        )
    app[DATAPLANE] = dataplane
    v1_api = v1.Endpoints(dataplane, body_limits=body_limits, decoding=decoding)
    v2_api = v2.Endpoints(dataplane, body_limits=body_limits, decoding=decoding)
    if logger is not None or batchers is not None:
        from kserve_server.payload.metrics import PayloadCollector

        collector = PayloadCollector(sink=logger.sink if logger else None, batchers=batchers)
        metrics.registry.register(collector)
    app.add_routes(
        [
            # inference first: routes under one prefix (/v2/models ...) are tried in this
            # order, and no two of them match the same method and path
            web.post("/v2/models/{name}/infer", v2_api.infer),
            web.post("/v1/models/{name}:predict", v1_api.predict),
            web.post("/v2/models/{name}/versions/{version}/infer", v2_api.infer),
            web.post("/v1/models/{name}:explain", v1_api.explain),
            web.get("/", v1_api.live),
            web.get("/metrics", metrics.handler),
            web.get("/openapi.json", openapi_json),
            web.get("/v1/models", v1_api.list_models),
            web.get("/v1/models/{name}", v1_api.model_ready),
            web.get("/v2", v2_api.server_metadata),
            web.get("/v2/health/live", v2_api.live),
            web.get("/v2/health/ready", v2_api.ready),
            web.get("/v2/models", v2_api.list_models),
            web.get("/v2/models/{name}", v2_api.model_metadata),
            web.get("/v2/models/{name}/versions/{version}", v2_api.model_metadata),
            web.get("/v2/models/{name}/ready", v2_api.model_ready),
            web.get("/v2/models/{name}/versions/{version}/ready", v2_api.model_ready),
            web.post("/v2/repository/index", v2_api.repository_index),
            web.post("/v2/repository/models/{name}/load", v2_api.repository_load),
            web.post("/v2/repository/models/{name}/unload", v2_api.repository_unload),
        ]
    )
    openai_api = openai.Endpoints(
        dataplane.repository,
        body_limits=body_limits,
        metrics=TokenMetrics(metrics.registry),
    )
    app.add_routes(openai_api.routes(settings.openai_route_prefix))
    if settings.enable_docs_url:
        app.router.add_get("/docs", docs)
    if logger is not None:  # cleaned up after the repository: the last requests get logged
        from kserve_server.rest import payload

        app.cleanup_ctx.append(payload.lifespan(logger))
    app.cleanup_ctx.append(repository.lifespan)
    return app


async def openapi_json(request: web.Request) -> web.Response:
    from kserve_server.rest import openapi

    return web.Response(body=orjson.dumps(openapi.document()), content_type="application/json")


async def docs(request: web.Request) -> web.Response:
    """A plain page pointing at the document (no CDN assets: clusters are often offline)."""
    from kserve_server.rest import openapi

    rows = "".join(
        f"<li><code>{method.upper()} {path}</code> {op['summary']}</li>"
        for path, item in openapi.document()["paths"].items()
        for method, op in item.items()
    )
    html = (
        "<h1>kserve-py model server</h1><p><a href=/openapi.json>openapi.json</a></p>"
        f"<ul>{rows}</ul>"
    )
    return web.Response(text=html, content_type="text/html")
