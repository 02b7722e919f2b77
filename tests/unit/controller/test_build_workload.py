"""The one workload builder: what predictor, transformer, explainer and a graph's router share
(rollout strategy, HPA metrics, Service ports, fixed replicas)."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import spec
from kserve_controller.api.component import ResourceMetricSource
from kserve_controller.build import workload
from kserve_controller.config import Rollout

META = {"name": "w", "namespace": "ns"}
MEMORY = ResourceMetricSource.model_validate({"name": "memory", "target": {}})


def work(**fields: Any) -> workload.Workload:
    parts: dict[str, Any] = {
        "metadata": META,
        "object_metadata": META,
        "app": "isvc.w",
        "pod": {"containers": [{"name": "c"}]},
        "scaling": spec.Scaling(),
        **fields,
    }
    return workload.Workload(**parts)


def test_rollout_defaults_to_upstreams_quarter_and_keeps_counts_as_ints() -> None:
    assert workload.strategy(None, None)["rollingUpdate"] == {
        "maxSurge": "25%",
        "maxUnavailable": "25%",
    }
    configured = workload.strategy(None, Rollout(maxSurge="1", maxUnavailable="0"))
    assert configured["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_the_users_strategy_wins_over_the_configured_rollout() -> None:
    own = {"type": "Recreate"}
    assert workload.strategy(own, Rollout(maxSurge="1")) == own


def test_deployment_selects_its_pods_and_sets_replicas_only_when_fixed() -> None:
    scaled = workload.deployment(work(), rollout=None)
    assert scaled["spec"]["selector"] == {"matchLabels": {"app": "isvc.w"}}
    assert "replicas" not in scaled["spec"]
    fixed = workload.deployment(work(replicas=0), rollout=None)
    assert fixed["spec"]["replicas"] == 0


@pytest.mark.parametrize(
    ("scaling", "metrics"),
    [
        (spec.Scaling(), [("cpu", 80)]),
        (spec.Scaling(metric="cpu", target=50), [("cpu", 50)]),
        (spec.Scaling(metric="memory"), []),
        (spec.Scaling(metric="memory", target=70), [("memory", 70)]),
        (spec.Scaling(metric="concurrency", target=5), []),
        (spec.Scaling(resource_metrics=(MEMORY,)), [("memory", 80)]),
        # autoScaling.metrics given but none of them a Resource metric: no metric at all
        (spec.Scaling(resource_metrics=()), []),
    ],
)
def test_hpa_metrics(scaling: spec.Scaling, metrics: list[tuple[str, int]]) -> None:
    hpa = workload.hpa(work(scaling=scaling))["spec"]
    got = [
        (m["resource"]["name"], m["resource"]["target"]["averageUtilization"])
        for m in hpa["metrics"]
    ]
    assert got == metrics


def test_hpa_replicas_are_at_least_one_and_max_at_least_min() -> None:
    hpa = workload.hpa(work(scaling=spec.Scaling(min_replicas=0, max_replicas=0)))["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 1)
    hpa = workload.hpa(work(scaling=spec.Scaling(min_replicas=3)))["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 3)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"}


@pytest.mark.parametrize(
    ("classname", "wanted"), [("hpa", True), ("none", False), ("external", False)]
)
def test_only_the_hpa_class_wants_an_hpa(classname: str, wanted: bool) -> None:
    assert spec.Scaling(autoscaler_class=classname).wants_hpa is wanted


def test_service_maps_port_80_to_the_first_port_and_keeps_the_others() -> None:
    main = {
        "ports": [
            {"containerPort": 9000, "name": "grpc-port"},
            {"containerPort": 9100, "protocol": "UDP"},
        ]
    }
    assert workload.service_ports("w", main) == [
        {
            "name": "grpc-port",
            "port": 80,
            "targetPort": 9000,
            "protocol": "TCP",
            "appProtocol": "kubernetes.io/h2c",
        },
        {"name": "port-9100", "port": 9100, "targetPort": 9100, "protocol": "UDP"},
    ]
    assert workload.service_ports("w", {}) == [
        {"name": "w", "port": 80, "targetPort": 8080, "protocol": "TCP"}
    ]


def test_headless_service_and_objects_do_not_share_metadata() -> None:
    one = work()
    svc = workload.service(one, ports=[], headless=True)
    assert svc["spec"]["clusterIP"] == "None"
    svc["metadata"]["labels"] = {"x": "y"}
    assert "labels" not in workload.hpa(one)["metadata"]


def test_every_pod_gets_the_restricted_defaults() -> None:
    pod = {"containers": [{"name": "c"}], "initContainers": [{"name": "i"}]}
    template = workload.deployment(work(pod=pod), rollout=None)["spec"]["template"]["spec"]
    assert template["securityContext"] == workload.POD_SECURITY
    for one in (*template["containers"], *template["initContainers"]):
        assert one["securityContext"] == workload.NON_ROOT
    assert "securityContext" not in pod["containers"][0]  # the input is left alone


def test_the_users_security_contexts_are_merged_never_overwritten() -> None:
    own = {"allowPrivilegeEscalation": True, "capabilities": {"add": ["NET_ADMIN"]}}
    pod = {
        "containers": [{"name": "c", "securityContext": own}],
        "securityContext": {"fsGroup": 2000, "seccompProfile": {"type": "Unconfined"}},
    }
    out = workload.restricted(pod)
    assert out["containers"][0]["securityContext"] == own
    assert out["securityContext"] == {
        "fsGroup": 2000,
        "seccompProfile": {"type": "Unconfined"},
        "runAsNonRoot": True,
    }


def test_a_read_only_container_gets_a_writable_tmp_and_others_are_left_alone() -> None:
    read_only = {"readOnlyRootFilesystem": True}
    pod = {
        "containers": [
            {"name": "ro", "securityContext": read_only},
            {"name": "rw", "securityContext": {"readOnlyRootFilesystem": False}},
            {"name": "plain"},
            {
                "name": "own-tmp",
                "securityContext": read_only,
                "volumeMounts": [{"name": "scratch", "mountPath": "/tmp/"}],
            },
        ],
        "initContainers": [{"name": "init", "securityContext": read_only}],
        "volumes": [{"name": "scratch", "emptyDir": {"medium": "Memory"}}],
    }
    out = workload.restricted(pod)
    tmp = {"name": "kserve-tmp", "mountPath": "/tmp"}
    every = (*out["containers"], *out["initContainers"])
    mounts = {c["name"]: c.get("volumeMounts") for c in every}
    assert mounts == {
        "ro": [tmp],
        "rw": None,
        "plain": None,
        "own-tmp": [{"name": "scratch", "mountPath": "/tmp/"}],
        "init": [tmp],
    }
    # one emptyDir for both, beside the user's own volume
    assert out["volumes"] == [*pod["volumes"], {"name": "kserve-tmp", "emptyDir": {}}]
    assert "volumeMounts" not in pod["containers"][0]  # the input is left alone


def test_a_pod_that_declares_the_scratch_volume_keeps_its_own() -> None:
    own = {"name": "kserve-tmp", "emptyDir": {"sizeLimit": "1Gi"}}
    pod = {
        "containers": [{"name": "c", "securityContext": {"readOnlyRootFilesystem": True}}],
        "volumes": [own],
    }
    out = workload.restricted(pod)
    assert out["volumes"] == [own]
    assert out["containers"][0]["volumeMounts"] == [{"name": "kserve-tmp", "mountPath": "/tmp"}]


@pytest.mark.parametrize(
    "pod",
    [
        {"containers": [{"name": "c", "securityContext": {"runAsUser": 0}}]},
        {"containers": [{"name": "c"}], "securityContext": {"runAsUser": 0}},
        {"containers": [{"name": "c"}], "securityContext": {"runAsNonRoot": False}},
    ],
)
def test_a_pod_that_asks_for_root_is_not_made_non_root(pod: dict[str, Any]) -> None:
    security = workload.restricted(pod)["securityContext"]
    assert security.get("runAsNonRoot") is not True
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
