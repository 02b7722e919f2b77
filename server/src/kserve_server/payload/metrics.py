"""Prometheus view of the payload logger and the batcher, read from their counters at scrape
time (registered on the app's own registry; nothing global)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from kserve_server.payload.batcher import BatcherStats
from kserve_server.payload.sink import QueueSink


class PayloadCollector(Collector):
    def __init__(
        self, *, sink: QueueSink | None = None, batchers: dict[str, BatcherStats] | None = None
    ) -> None:
        self.sink = sink
        self.batchers = batchers or {}

    def collect(self) -> Iterator[Metric]:
        if self.sink is not None:
            events = CounterMetricFamily(
                "payload_logger_records",
                "payload log records by outcome: sent, failed (after retries), dropped (queue "
                "full or shutdown)",
                labels=["outcome"],
            )
            stats = self.sink.stats
            for outcome, value in (
                ("sent", stats.sent),
                ("failed", stats.failed),
                ("dropped", stats.dropped),
            ):
                events.add_metric([outcome], value)
            yield events
            retries = CounterMetricFamily(
                "payload_logger_retries", "payload log deliveries tried again"
            )
            retries.add_metric([], stats.retries)
            yield retries
            depth = GaugeMetricFamily(
                "payload_logger_queue_depth", "payload log records waiting for the sink"
            )
            depth.add_metric([], self.sink.depth)
            yield depth
        if self.batchers:
            families = {
                "batches": CounterMetricFamily(
                    "batcher_batches", "model calls made by the batcher", labels=["protocol"]
                ),
                "items": CounterMetricFamily(
                    "batcher_items",
                    "instances (rows) through the batcher",
                    labels=["protocol"],
                ),
                "requests": CounterMetricFamily(
                    "batcher_requests", "requests sent through the batcher", labels=["protocol"]
                ),
                "retried_alone": CounterMetricFamily(
                    "batcher_retried_alone",
                    "requests run again alone after their batch failed",
                    labels=["protocol"],
                ),
            }
            for protocol, batcher in self.batchers.items():
                for name, family in families.items():
                    family.add_metric([protocol], getattr(batcher, name))
            yield from families.values()
