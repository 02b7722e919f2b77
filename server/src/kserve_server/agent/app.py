"""The agent's aiohttp application: its own /metrics, its readiness answer (a request with
`K-Network-Probe`, see readiness.py), everything else to the component."""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, exposition

from kserve_server.agent import readiness
from kserve_server.agent.proxy import Proxy
from kserve_server.payload.metrics import PayloadCollector

METRICS_PATH = "/metrics"


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "agent_requests",
            "requests through the agent by status code",
            ["code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "agent_request_duration_seconds",
            "time from the request read to the answer, through the component",
            registry=self.registry,
        )

    async def handler(self, request: web.Request) -> web.Response:
        encoder, content_type = exposition.choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})


def create_app(
    proxy: Proxy,
    *,
    probe: readiness.ComponentProbe | None = None,
    max_body_bytes: int = 64 * 1024 * 1024,
) -> web.Application:
    """`probe`: the component's readiness probe (None: the component counts as ready)."""
    metrics = AgentMetrics()
    batchers = {"v1": proxy.batcher.stats} if proxy.batcher is not None else None
    if proxy.logger is not None or batchers:
        metrics.registry.register(
            PayloadCollector(sink=proxy.logger.sink if proxy.logger else None, batchers=batchers)
        )

    async def forward(request: web.Request) -> web.StreamResponse:
        if request.headers.get(readiness.HEADER):
            if await readiness.passes(probe):
                return web.Response(text="queue")
            return web.Response(text="the component is not ready", status=503)
        started = time.perf_counter()
        response = await proxy.handle(request)
        metrics.requests.labels(str(response.status)).inc()
        metrics.latency.observe(time.perf_counter() - started)
        return response

    app = web.Application(client_max_size=max_body_bytes)
    app.router.add_get(METRICS_PATH, metrics.handler)
    app.router.add_route("*", "/{tail:.*}", forward)
    app.cleanup_ctx.append(proxy.lifespan)
    return app
