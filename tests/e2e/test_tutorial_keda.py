"""Autoscaling on requests (`serving.kserve.io/autoscalerClass: keda`): the controller makes a
KEDA ScaledObject whose prometheus trigger reads the model server's request rate from the
cluster's Prometheus; in-cluster load of four times the per-replica target scales the predictor
from 1 to 3 replicas, and it goes back to 1 once the load ends (no scale-down stabilization in
the fixture, so the wait is the rate window and the HPA's sync, not 5 minutes)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_kube import Cli, condition, diagnose, wait_for
from e2e_steps import FIXTURES, Applied, Install, applied_on, load_pod
from e2e_timeline import Timeline

NS = "autoscaling-keda"  # fixtures/keda.yaml and fixtures/keda-load.yaml
NAME = "sklearn-iris"
PREDICTOR = f"{NAME}-predictor"
THRESHOLD = 5.0  # requests a second per replica (fixtures/keda.yaml)
API = (
    "v1beta1.external.metrics.k8s.io",
    "external metrics API",
    "install KEDA (`CLUSTER_AUTOSCALING=1 make cluster-up` does), else no ScaledObject can scale",
)
# Waits, not timed asserts: Prometheus' 5 s scrapes and 30 s rate window, the HPA's 15 s sync,
# two new pods' start (model download and load) on 2 shared cores, then doubled.
METRIC_WITHIN = 120.0
SCALED_WITHIN = 300.0
SCALED_DOWN_WITHIN = 240.0


@dataclass
class ScaledOut:
    rate: float  # the request rate the HPA saw when it scaled out (requests/s)
    hpa: dict[str, Any]  # KEDA's HPA then
    scaled_object: dict[str, Any]
    load_ended: float  # time.monotonic() when the load pod was deleted


def external_total(hpa: dict[str, Any]) -> float | None:
    """The value of the HPA's external metric (the trigger's query: the request rate), once it
    has one. KEDA's triggers are AverageValue metrics: the HPA reports the value per replica."""
    status = hpa.get("status") or {}
    for metric in status.get("currentMetrics") or []:
        current = (metric.get("external") or {}).get("current") or {}
        if current.get("averageValue") is not None:
            return quantity(str(current["averageValue"])) * int(status.get("currentReplicas") or 1)
        if current.get("value") is not None:
            return quantity(str(current["value"]))
    return None


def quantity(text: str) -> float:
    """A Kubernetes quantity as the HPA reports metric values ("12", "12500m")."""
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


@pytest.fixture(scope="module")
def keda_isvc(cli: Cli, kserve: Install, environment_ready: None) -> Iterator[Applied]:
    path = FIXTURES / "keda.yaml"
    yield from applied_on(cli, API, path=path, name=NAME, namespace=NS, what="keda sklearn-iris")


@pytest.fixture(scope="module")
def scaled_out(cli: Cli, keda_isvc: Applied, timeline: Timeline) -> Iterator[ScaledOut]:
    """In-cluster load until the predictor has 3 Ready replicas, then the load pod deleted."""
    before = cli.json("get", "deployment", PREDICTOR, "-n", NS)
    assert before["spec"]["replicas"] == 1, "scaled out before any load"
    hpa_name = f"keda-hpa-{PREDICTOR}"
    with load_pod(cli, FIXTURES / "keda-load.yaml", namespace=NS) as t0:

        def over_threshold() -> float | None:
            value = external_total(cli.json("get", "hpa", hpa_name, "-n", NS))
            return value if value is not None and value > 2 * THRESHOLD else None

        rate = wait_for(
            "KEDA's HPA to see the request rate", over_threshold, timeout=METRIC_WITHIN, every=2
        )
        timeline.add("keda: load -> HPA sees the request rate", time.monotonic() - t0)

        def replicas(minimum: int) -> dict[str, Any] | None:
            deployment = cli.json("get", "deployment", PREDICTOR, "-n", NS)
            return deployment if int(deployment["spec"].get("replicas") or 0) >= minimum else None

        wait_for("the HPA to ask for 3 replicas", lambda: replicas(3), timeout=SCALED_WITHIN)
        timeline.add("keda: load -> 3 replicas asked", time.monotonic() - t0)

        def ready() -> dict[str, Any] | None:
            deployment = replicas(3)
            return (
                deployment
                if deployment and deployment["status"].get("readyReplicas") == 3
                else None
            )

        wait_for("3 Ready replicas", ready, timeout=SCALED_WITHIN, every=2)
        timeline.add("keda: load -> 3 Ready replicas", time.monotonic() - t0)
        hpa = cli.json("get", "hpa", hpa_name, "-n", NS)
        scaled_object = cli.json("get", "scaledobject", PREDICTOR, "-n", NS)
    yield ScaledOut(rate=rate, hpa=hpa, scaled_object=scaled_object, load_ended=time.monotonic())


def test_controller_makes_a_scaled_object_on_the_request_rate(scaled_out: ScaledOut) -> None:
    so = scaled_out.scaled_object
    assert (so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]) == (1, 3)
    (trigger,) = so["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    assert trigger["metadata"]["serverAddress"] == "http://prometheus.monitoring.svc:9090"
    assert "inference_requests_total" in trigger["metadata"]["query"]
    assert condition(so, "Ready").get("status") == "True", so["status"]
    # under load KEDA reports the trigger active
    assert condition(so, "Active").get("status") == "True", so["status"]


def test_load_scales_the_predictor_1_to_3(scaled_out: ScaledOut) -> None:
    hpa = scaled_out.hpa
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    # about 20 requests a second against 5 per replica: the HPA asks for ceil(rate / 5) >= 3
    assert math.ceil(scaled_out.rate / THRESHOLD) >= 3, scaled_out.rate
    assert hpa["status"]["desiredReplicas"] == 3, hpa["status"]


def test_predictor_scales_back_to_1_after_the_load(
    cli: Cli, scaled_out: ScaledOut, timeline: Timeline
) -> None:
    t0 = scaled_out.load_ended

    def one() -> dict[str, Any] | None:
        deployment = cli.json("get", "deployment", PREDICTOR, "-n", NS)
        spec, status = deployment["spec"], deployment["status"]
        done = spec.get("replicas") == 1 and status.get("replicas") == 1
        return deployment if done else None

    try:
        wait_for("the predictor back at 1 replica", one, timeout=SCALED_DOWN_WITHIN, every=2)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cli, NS)}") from err
    timeline.add("keda: load end -> back to 1 replica", time.monotonic() - t0)
    isvc = cli.json("get", "inferenceservice", NAME, "-n", NS)
    assert condition(isvc, "Ready").get("status") == "True", isvc["status"]
