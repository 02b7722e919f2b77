"""Prometheus metrics, one registry per app (tests build many apps; nothing global).

Stage histograms keep upstream KServe's names (`request_predict_seconds{model_name}` ...);
per-request counts and latency carry the protocol (v1, v2, grpc-v2) and status code (HTTP, or
the gRPC code's name). Each labelled child is
looked up once and kept: `labels()` costs more than the `observe()` that follows it.
"""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    exposition,
    gc_collector,
    platform_collector,
    process_collector,
)

from kserve_server.rest.errors import Handler

STAGES = {
    "preprocess": "pre-process request latency",
    "predict": "predict request latency",
    "postprocess": "post-process request latency",
    "explain": "explain request latency",
}
INFERENCE_SUFFIXES = (":predict", ":explain", "/infer")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.stages = {
            stage: Histogram(
                f"request_{stage}_seconds", help_text, ["model_name"], registry=self.registry
            )
            for stage, help_text in STAGES.items()
        }
        self.requests = Counter(
            "inference_requests",
            "inference requests by model, protocol and status (HTTP code or gRPC code name)",
            ["model_name", "protocol", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "inference_request_duration_seconds",
            "inference request latency, from the body read to the response built",
            ["model_name", "protocol"],
            registry=self.registry,
        )
        # children by label values; bounded like the label sets (404s never get one)
        self._stage_children: dict[tuple[str, str], Histogram] = {}
        self._request_children: dict[tuple[str, str, str], Counter] = {}
        self._latency_children: dict[tuple[str, str], Histogram] = {}

    def observe_stage(self, stage: str, model: str, seconds: float) -> None:
        child = self._stage_children.get((stage, model))
        if child is None:
            child = self._stage_children[(stage, model)] = self.stages[stage].labels(model)
        child.observe(seconds)

    def count_request(self, model: str, protocol: str, code: str, seconds: float) -> None:
        counter = self._request_children.get((model, protocol, code))
        if counter is None:
            counter = self.requests.labels(model, protocol, code)
            self._request_children[(model, protocol, code)] = counter
        latency = self._latency_children.get((model, protocol))
        if latency is None:
            latency = self._latency_children[(model, protocol)] = self.latency.labels(
                model, protocol
            )
        counter.inc()
        latency.observe(seconds)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or not request.path.endswith(INFERENCE_SUFFIXES):
            return await handler(request)
        started = time.perf_counter()
        response = await handler(request)
        if response.status != 404:  # unknown names would grow label sets without bound
            model = request.match_info.get("name", "")
            protocol = "v2" if request.path.startswith("/v2/") else "v1"
            self.count_request(model, protocol, str(response.status), time.perf_counter() - started)
        return response

    async def handler(self, request: web.Request) -> web.Response:
        encoder, content_type = exposition.choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})
