"""The autoscaled endpoint the tutorial promises (`kubectl get hpa`): with metrics-server in the
cluster the HPA of an InferenceService sees real CPU, and load from inside the cluster scales
the predictor out. The controller leaves the replica count to the HPA (spec §4's pitfall: HPA
scale-ups reverted by replica resets). No wait for the scale-down (5 min stabilization)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_kube import Cli, condition, wait_for
from e2e_steps import FIXTURES, Applied, Install, applied_on, load_pod
from e2e_timeline import Timeline

NS = "autoscaling"  # fixtures/autoscaling.yaml and fixtures/load.yaml
NAME = "sklearn-iris"
PREDICTOR = f"{NAME}-predictor"
TARGET = 20  # the scaleTarget, % of the 100m CPU request
# Waits, not timed asserts: metrics-server's 15 s resolution, the HPA's 15 s sync, the new
# pods' start (model download and load) on 2 shared cores, then doubled.
METRICS_WITHIN = 120.0
SCALED_WITHIN = 240.0
# how long the replica count is watched after the scale-out, while the controller reconciles
# the Deployment's and the new pods' changes
HOLD_SECONDS = 20.0
API = (
    "v1beta1.metrics.k8s.io",
    "metrics API",
    "install metrics-server (`make cluster-up` does), else no HPA can scale",
)
TARGETS = re.compile(r"cpu: (\d+)%/(\d+)%")


@dataclass
class ScaledOut:
    hpa_table: str  # `kubectl get hpa` when the predictor had scaled out
    hpa: dict[str, Any]  # the HPA object then
    replicas: int  # the Deployment's replicas then


def cpu_utilization(hpa: dict[str, Any]) -> int | None:
    """The HPA's current average CPU utilization (%), once it has one."""
    for metric in (hpa.get("status") or {}).get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            value = (resource.get("current") or {}).get("averageUtilization")
            return int(value) if value is not None else None
    return None


@pytest.fixture(scope="module")
def autoscaled(cli: Cli, kserve: Install, environment_ready: None) -> Iterator[Applied]:
    path, what = FIXTURES / "autoscaling.yaml", "autoscaling sklearn-iris"
    yield from applied_on(cli, API, path=path, name=NAME, namespace=NS, what=what)


@pytest.fixture(scope="module")
def scaled_out(cli: Cli, autoscaled: Applied, timeline: Timeline) -> Iterator[ScaledOut]:
    """Load from a pod in the cluster until the predictor has more than one Ready replica."""
    before = cli.json("get", "deployment", PREDICTOR, "-n", NS)
    assert before["spec"]["replicas"] == 1, "scaled out before any load"
    with load_pod(cli, FIXTURES / "load.yaml", namespace=NS) as t0:

        def reported() -> int | None:
            return cpu_utilization(cli.json("get", "hpa", PREDICTOR, "-n", NS))

        wait_for("the HPA to report CPU utilization", reported, timeout=METRICS_WITHIN, every=3)
        timeline.add("autoscaling: load -> HPA reports CPU", time.monotonic() - t0)

        def scaled() -> ScaledOut | None:
            deployment = cli.json("get", "deployment", PREDICTOR, "-n", NS)
            replicas = int(deployment["spec"].get("replicas") or 0)
            if replicas < 2 or int(deployment["status"].get("readyReplicas") or 0) < 2:
                return None
            hpa = cli.json("get", "hpa", PREDICTOR, "-n", NS)
            table = cli.kubectl("get", "hpa", "-n", NS, echo=False)
            return ScaledOut(hpa_table=table, hpa=hpa, replicas=replicas)

        result = wait_for("more than one Ready replica", scaled, timeout=SCALED_WITHIN, every=3)
        timeline.add("autoscaling: load -> 2+ Ready replicas", time.monotonic() - t0)
        print(result.hpa_table)
        yield result  # the load goes on through the tests


def test_kubectl_get_hpa_shows_real_cpu_above_the_target(scaled_out: ScaledOut) -> None:
    assert "<unknown>" not in scaled_out.hpa_table, scaled_out.hpa_table
    found = TARGETS.search(scaled_out.hpa_table)
    assert found, f"no `cpu: N%/{TARGET}%` in:\n{scaled_out.hpa_table}"
    assert int(found.group(2)) == TARGET
    # what made it scale: the load's CPU, measured by metrics-server through the kubelet
    assert int(found.group(1)) > TARGET, scaled_out.hpa_table
    active = condition(scaled_out.hpa, "ScalingActive")
    assert active.get("status") == "True", active


def test_predictor_scales_out_within_max_replicas(cli: Cli, scaled_out: ScaledOut) -> None:
    assert 2 <= scaled_out.replicas <= 3
    hpa = scaled_out.hpa
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    events = cli.kubectl("get", "events", "-n", NS, "--field-selector", "reason=SuccessfulRescale")
    assert "New size:" in events and "cpu resource utilization" in events, events


def test_controller_leaves_the_replica_count_to_the_hpa(cli: Cli, scaled_out: ScaledOut) -> None:
    # The scale-out itself and each new pod make the controller reconcile the InferenceService;
    # under load the HPA never scales down within its 5 min stabilization, so any drop is a reset.
    seen = []
    deadline = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < deadline:
        seen.append(int(cli.json("get", "deployment", PREDICTOR, "-n", NS)["spec"]["replicas"]))
        time.sleep(1)
    assert min(seen) >= scaled_out.replicas, f"replicas went {scaled_out.replicas} -> {seen}"
    # and its server-side applies claim no replica count (else each one would reset it)
    deployment = cli.json("get", "deployment", PREDICTOR, "-n", NS, "--show-managed-fields")
    managed = deployment["metadata"]["managedFields"]
    ours = [entry for entry in managed if entry["manager"] == "kserve-controller"]
    assert ours, [entry["manager"] for entry in managed]
    for entry in ours:
        assert "f:replicas" not in entry["fieldsV1"].get("f:spec", {}), entry
