"""Prometheus metrics of one manager (a registry per manager, never a global one)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    reconciles: Counter
    errors: Counter
    duration: Histogram
    queue_depth: Gauge
    writes: Counter
    relists: Counter
    leader: Gauge


def create() -> Metrics:
    registry = CollectorRegistry()
    prefix = "kserve_controller"
    return Metrics(
        registry=registry,
        reconciles=Counter(
            f"{prefix}_reconcile", "Reconcile passes by result", ["result"], registry=registry
        ),
        errors=Counter(f"{prefix}_reconcile_errors", "Failed reconcile passes", registry=registry),
        duration=Histogram(
            f"{prefix}_reconcile_duration_seconds",
            "Time of one reconcile pass",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        ),
        queue_depth=Gauge(f"{prefix}_queue_depth", "Keys waiting in the queue", registry=registry),
        writes=Counter(
            f"{prefix}_api_writes", "Writes to the apiserver", ["verb", "kind"], registry=registry
        ),
        relists=Counter(
            f"{prefix}_watch_relists",
            "Lists again because a watch's resourceVersion was gone (410), by kind",
            ["kind"],
            registry=registry,
        ),
        leader=Gauge(f"{prefix}_leader", "1 while this replica leads", registry=registry),
    )
