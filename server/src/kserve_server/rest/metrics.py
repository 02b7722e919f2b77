"""Prometheus metrics, one registry per app (tests build many apps; nothing global).

Stage histograms keep upstream KServe's names (`request_predict_seconds{model_name}` ...);
per-request counts and latency carry the protocol (v1, v2, grpc-v2) and status code (HTTP, or
the gRPC code's name); `inference_requests_in_flight{model_name,protocol}` is the number of
inference requests being answered right now (what a concurrency autoscaler reads).
Requests are recorded as plain numbers on the event loop's thread (the data plane hands stage
times back to it) and become Prometheus samples only when scraped: prometheus_client's own
metrics take a lock for every bucket and sum, ~1 µs each, five times a request. The
exposition is the one prometheus_client's Histogram, Counter and Gauge would write.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Sequence

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Histogram,
    exposition,
    gc_collector,
    platform_collector,
    process_collector,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

STAGES = {
    "preprocess": "pre-process request latency",
    "predict": "predict request latency",
    "postprocess": "post-process request latency",
    "explain": "explain request latency",
}
INFERENCE_SUFFIXES = (":predict", ":explain", "/infer")
BOUNDS = Histogram.DEFAULT_BUCKETS  # upper bounds, +Inf last
_LE = [floatToGoString(bound) for bound in BOUNDS]  # type: ignore[no-untyped-call]


class Buckets:
    """One label set of a histogram: counts per bucket (not cumulative), sum, creation time.
    Metrics observes a value in place (a method call each was a measurable share of a small
    request): `counts[bisect_left(BOUNDS, seconds)] += 1` (the first bound >= seconds) and
    `sum += seconds`."""

    __slots__ = ("counts", "created", "sum")

    def __init__(self) -> None:
        self.counts = [0] * len(BOUNDS)
        self.sum = 0.0
        self.created = time.time()

    def add_to(self, family: HistogramMetricFamily, labels: dict[str, str]) -> None:
        cumulative, total = [], 0
        for le, count in zip(_LE, self.counts, strict=True):
            total += count
            cumulative.append((le, float(total)))
        family.add_metric(list(labels.values()), cumulative, self.sum)
        family.samples.append(Sample(f"{family.name}_created", labels, self.created))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        # label values → state; bounded like the label sets (404s never get one)
        self._stages: dict[str, dict[str, Buckets]] = {stage: {} for stage in STAGES}
        self._requests: dict[tuple[str, str, str], list[float]] = {}  # [count, created]
        self._latency: dict[tuple[str, str], Buckets] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self.registry.register(self)

    def observe_stages(self, model: str, timings: Sequence[tuple[str, float]]) -> None:
        """One request's stage times, (stage, seconds) each. Called on the event loop's thread
        only (no locks)."""
        stages = self._stages
        for stage, seconds in timings:
            by_model = stages[stage]
            buckets = by_model.get(model)
            if buckets is None:
                buckets = by_model[model] = Buckets()
            buckets.counts[bisect.bisect_left(BOUNDS, seconds)] += 1
            buckets.sum += seconds

    def count_request(self, model: str, protocol: str, code: str, seconds: float) -> None:
        """One inference request answered (REST: middleware.py; gRPC). Called on the event
        loop's thread only (no locks)."""
        counter = self._requests.get((model, protocol, code))
        if counter is None:
            counter = self._requests[(model, protocol, code)] = [0.0, time.time()]
        counter[0] += 1
        latency = self._latency.get((model, protocol))
        if latency is None:
            latency = self._latency[(model, protocol)] = Buckets()
        latency.counts[bisect.bisect_left(BOUNDS, seconds)] += 1
        latency.sum += seconds

    def enter(self, model: str, protocol: str) -> None:
        """A request starts (event loop's thread only)."""
        key = (model, protocol)
        self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def leave(self, model: str, protocol: str) -> None:
        """A request is answered (or failed). A name that was never answered but for 404s
        leaves no series behind: unknown names would grow label sets without bound."""
        key = (model, protocol)
        left = self._in_flight.get(key, 1) - 1
        if left == 0 and key not in self._latency:
            self._in_flight.pop(key, None)
        else:
            self._in_flight[key] = left

    def collect(self) -> Iterator[Metric]:
        """The Prometheus families (the registry calls this on a scrape, on the loop's thread)."""
        for stage, help_text in STAGES.items():
            family = HistogramMetricFamily(
                f"request_{stage}_seconds", help_text, labels=["model_name"]
            )
            for model, buckets in self._stages[stage].items():
                buckets.add_to(family, {"model_name": model})
            yield family
        requests = CounterMetricFamily(
            "inference_requests",
            "inference requests by model, protocol and status (HTTP code or gRPC code name)",
            labels=["model_name", "protocol", "code"],
        )
        for values, (count, created) in self._requests.items():
            requests.add_metric(list(values), count, created=created)
        yield requests
        latency = HistogramMetricFamily(
            "inference_request_duration_seconds",
            "inference request latency, from the body read to the response built",
            labels=["model_name", "protocol"],
        )
        for (model, protocol), buckets in self._latency.items():
            buckets.add_to(latency, {"model_name": model, "protocol": protocol})
        yield latency
        in_flight = GaugeMetricFamily(
            "inference_requests_in_flight",
            "inference requests being answered, by model and protocol",
            labels=["model_name", "protocol"],
        )
        for (model, protocol), count in self._in_flight.items():
            in_flight.add_metric([model, protocol], count)
        yield in_flight

    async def handler(self, request: web.Request) -> web.Response:
        encoder, content_type = exposition.choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})
