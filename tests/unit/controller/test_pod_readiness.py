"""A node that stops reporting strands its pods (Ready=False with no kubelet reason, containers
last reported ready): the InferenceService's status names the node and the pods, instead of
only the Deployment's "does not have minimum availability"."""

from __future__ import annotations

from typing import Any

from kserve_controller import config, pod_readiness, spec, status
from kserve_controller.runtimes import Runtime

NOW = "2026-12-07T21:00:00Z"
UNAVAILABLE = {
    "metadata": {"name": "iris-predictor"},
    "status": {
        "conditions": [
            {
                "type": "Available",
                "status": "False",
                "reason": "MinimumReplicasUnavailable",
                "message": "Deployment does not have minimum availability.",
            }
        ]
    },
}


def pod(
    name: str, *, ready: dict[str, str], containers_ready: bool = True, node: str = "node-a"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": "2026-12-07T20:00:00Z"},
        "spec": {"nodeName": node},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", **ready}],
            "containerStatuses": [
                {"name": "kserve-container", "ready": containers_ready, "state": {"running": {}}}
            ],
        },
    }


SILENT = {"status": "False"}  # as the node lifecycle controller leaves it: no reason
PROBE_FAILS = {"status": "False", "reason": "ContainersNotReady"}


def test_pods_on_a_silent_node_name_it() -> None:
    found = pod_readiness.stranded(
        [
            pod("iris-1", ready=SILENT),
            pod("iris-2", ready=SILENT),
            pod("ok", ready={"status": "True"}),
        ]
    )
    assert found == (
        "NodeNotReporting",
        "node node-a stopped reporting to the control plane (kubelet or container runtime down, "
        "or the node unreachable): pods iris-1, iris-2 marked not ready, their containers ready "
        "when last reported",
    )


def test_the_kubelets_own_not_ready_is_no_silent_node() -> None:
    assert pod_readiness.stranded([pod("p", ready=PROBE_FAILS, containers_ready=False)]) is None
    assert pod_readiness.stranded([pod("p", ready=SILENT, containers_ready=False)]) is None
    assert pod_readiness.stranded([pod("p", ready={"status": "True"})]) is None
    gone = pod("p", ready=SILENT)
    gone["metadata"]["deletionTimestamp"] = NOW
    assert pod_readiness.stranded([gone]) is None


def test_ready_false_says_which_node_went_silent() -> None:
    isvc = spec.parse(
        {
            "metadata": {"name": "iris", "namespace": "ml", "uid": "u", "generation": 1},
            "spec": {
                "predictor": {
                    "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}
                }
            },
        }
    )
    st = status.compute(
        isvc,
        deployment=UNAVAILABLE,
        ingress_obj={"metadata": {"name": "iris"}},
        pods=[pod("iris-1", ready=SILENT)],
        runtime=Runtime(name="kserve-sklearnserver", kind="ClusterServingRuntime", spec={}),
        config=config.parse(None),
        now=NOW,
    )
    ready = status.condition(st, "Ready")
    assert ready is not None and ready["status"] == "False"
    assert ready["reason"] == "NodeNotReporting"
    assert ready["message"].startswith("node node-a stopped reporting")
    assert "pod iris-1 marked not ready, its containers ready" in ready["message"]
