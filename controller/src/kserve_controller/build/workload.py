"""One workload: the Deployment, Service and HorizontalPodAutoscaler that every served part
runs as, whether an InferenceService component (predictor, transformer, explainer) or an
InferenceGraph's router (pure).

Callers decide names, labels, the pod and the ports; the shape of the three objects, the
rollout strategy and the autoscaling rules are decided here, once for every kind.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kserve_controller.api.component import ResourceMetricSource
from kserve_controller.build import termination
from kserve_controller.config import Rollout
from kserve_controller.spec import Scaling

Obj = dict[str, Any]

SERVICE_PORT = 80
DEFAULT_PORT = 8080  # the model server's (and the router's) HTTP port
DEFAULT_CPU_TARGET = 80
H2C = "kubernetes.io/h2c"
# A container that runs as non-root and can gain no privileges (runtimes, the initializer).
NON_ROOT: Obj = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}
# Ours alone (the router, the storage initializer, the logger's agent): also unprivileged with
# a read-only root filesystem.
LOCKED_DOWN: Obj = {"privileged": False, **NON_ROOT, "readOnlyRootFilesystem": True}
# Every pod's defaults, so it passes Pod Security "restricted" unless its YAML says otherwise.
POD_SECURITY: Obj = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
# The writable /tmp of a container on a read-only root filesystem (the chart's runtimes declare
# the same volume for their model server).
SCRATCH_VOLUME = "kserve-tmp"
SCRATCH_PATH = "/tmp"


@dataclass(frozen=True)
class Workload:
    """One workload's parts; `metadata` names the Deployment, `object_metadata` the Service
    and HPA (both carry the owner reference)."""

    metadata: Obj
    app: str  # the pods' `app` label: the Deployment's and the Service's selector
    pod: Obj
    scaling: Scaling
    object_metadata: Obj
    pod_metadata: Obj = field(default_factory=dict)
    replicas: int | None = None  # a fixed count, for a Deployment no HPA scales
    strategy: Obj | None = None  # the user's deploymentStrategy; else the configured rollout

    @property
    def name(self) -> str:
        return str(self.metadata["name"])


def deployment(work: Workload, *, rollout: Rollout | None) -> Obj:
    spec: Obj = {
        "selector": {"matchLabels": {"app": work.app}},
        "strategy": strategy(work.strategy, rollout),
        "template": {
            "metadata": copy.deepcopy(work.pod_metadata),
            "spec": termination.graceful(restricted(work.pod)),
        },
    }
    if work.replicas is not None:
        spec["replicas"] = work.replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": work.metadata, "spec": spec}


def restricted(pod: Obj) -> Obj:
    """`pod` with the Pod Security "restricted" defaults where its YAML chose nothing: a
    container without a securityContext gets NON_ROOT; the pod's securityContext gets
    POD_SECURITY's keys it lacks. What a user wrote is kept, even where it breaks "restricted"
    (a pod or container that asks for root is not made non-root behind its back). A container
    on a read-only root filesystem that mounts nothing at /tmp gets the pod's SCRATCH_VOLUME
    there (an emptyDir, added when the pod has none of that name)."""
    out = copy.deepcopy(pod)
    containers = [*(out.get("containers") or []), *(out.get("initContainers") or [])]
    for one in containers:
        if not one.get("securityContext"):
            one["securityContext"] = copy.deepcopy(NON_ROOT)
        _scratch(out, one)
    security = out.setdefault("securityContext", {})
    security.setdefault("seccompProfile", copy.deepcopy(POD_SECURITY["seccompProfile"]))
    as_root = [security, *(c["securityContext"] for c in containers)]
    if not any(s.get("runAsUser") == 0 for s in as_root):
        security.setdefault("runAsNonRoot", True)
    return out


def _scratch(pod: Obj, one: Obj) -> None:
    if one["securityContext"].get("readOnlyRootFilesystem") is not True:
        return
    mounts = one.setdefault("volumeMounts", [])
    if any(m.get("mountPath", "").rstrip("/") == SCRATCH_PATH for m in mounts):
        return
    mounts.append({"name": SCRATCH_VOLUME, "mountPath": SCRATCH_PATH})
    volumes = pod.setdefault("volumes", [])
    if not any(v.get("name") == SCRATCH_VOLUME for v in volumes):
        volumes.append({"name": SCRATCH_VOLUME, "emptyDir": {}})


def service(work: Workload, *, ports: list[Obj], headless: bool = False) -> Obj:
    spec: Obj = {"selector": {"app": work.app}, "ports": ports}
    if headless:
        spec["clusterIP"] = "None"
    metadata = copy.deepcopy(work.object_metadata)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def service_ports(name: str, main: Obj) -> list[Obj]:
    """Port 80 to the main container's first port (8080 when it declares none); its other
    ports as themselves. A first port named for gRPC is marked h2c."""
    declared = main.get("ports") or []
    if not declared:
        return [port(name, SERVICE_PORT, DEFAULT_PORT)]
    first = declared[0]
    port_name = first.get("name") or name
    ports = [port(port_name, SERVICE_PORT, first["containerPort"], first.get("protocol"))]
    if "grpc" in port_name or "h2c" in port_name:
        ports[0]["appProtocol"] = H2C
    for extra in declared[1:]:
        number = extra["containerPort"]
        extra_name = extra.get("name") or f"port-{number}"
        ports.append(port(extra_name, number, number, extra.get("protocol")))
    return ports


def port(name: str, number: int, target: int, protocol: str | None = None) -> Obj:
    """A Service port (TCP unless said)."""
    return {"name": name, "port": number, "targetPort": target, "protocol": protocol or "TCP"}


def hpa(work: Workload) -> Obj:
    scaling = work.scaling
    min_replicas = max(scaling.min_replicas or 1, 1)
    max_replicas = max(scaling.max_replicas or 0, min_replicas)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": copy.deepcopy(work.object_metadata),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": work.name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": _metrics(scaling),
        },
    }


def _metrics(scaling: Scaling) -> list[Obj]:
    if scaling.resource_metrics is not None:
        return [_resource(r) for r in scaling.resource_metrics]
    metric, target = scaling.metric or "cpu", scaling.target
    if metric == "cpu":
        return [_utilization("cpu", target if target is not None else DEFAULT_CPU_TARGET)]
    if metric == "memory" and target is not None:
        return [_utilization("memory", target)]
    return []  # memory without a target; Knative's metrics are refused before this


def _utilization(resource: str, percent: int) -> Obj:
    return {
        "type": "Resource",
        "resource": {
            "name": resource,
            "target": {"type": "Utilization", "averageUtilization": percent},
        },
    }


def _resource(source: ResourceMetricSource) -> Obj:
    target = source.target.model_copy()
    if target.type is None:
        target.type = "Utilization"
    if target.type == "Utilization" and target.average_utilization is None:
        target.average_utilization = DEFAULT_CPU_TARGET
    return {"type": "Resource", "resource": {"name": source.name, "target": target.wire()}}


def strategy(own: Obj | None, rollout: Rollout | None) -> Obj:
    """The user's deploymentStrategy as written, else a rolling update by the configured
    rollout (upstream's default 25 % / 25 %)."""
    if own:
        return copy.deepcopy(own)
    rollout = rollout or Rollout()
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {
            "maxSurge": int_or_str(rollout.max_surge),
            "maxUnavailable": int_or_str(rollout.max_unavailable),
        },
    }


def int_or_str(value: str) -> int | str:
    """An IntOrString: "1" means one pod, "25%" a share; the apiserver keeps ints as ints."""
    return int(value) if value.isdigit() else value
