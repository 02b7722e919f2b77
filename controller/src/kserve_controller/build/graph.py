"""An InferenceGraph in RawDeployment mode: Deployment, Service and HPA named after the graph,
running the router with the graph's spec as `--graph-json` (upstream's raw_ig.go) (pure).

Steps naming an InferenceService (`serviceName`) get its URL as `serviceUrl` before the spec
is serialized, as upstream's controller does: the router never talks to the apiserver.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kserve_controller import spec as isvc_spec
from kserve_controller.api.inferencegraph import InferenceGraphSpec
from kserve_controller.build import graph_route, workload
from kserve_controller.config import ControllerConfig, RouterConfig
from kserve_controller.errors import InvalidSpec
from kserve_controller.spec import Scaling

Obj = dict[str, Any]

API_VERSION = "serving.kserve.io/v1alpha1"
KIND = "InferenceGraph"
GRAPH_LABEL = "serving.kserve.io/inferencegraph"
ROUTER_PORT = workload.DEFAULT_PORT
PROPAGATE_ENV = "PROPAGATE_HEADERS"
AUTOSCALER_ANNOTATION = "serving.kserve.io/autoscalerClass"


def service_names(graph: Obj) -> set[str]:
    """The InferenceServices a graph's steps name (without their own serviceUrl)."""
    return {
        step["serviceName"]
        for node in (graph.get("spec") or {}).get("nodes", {}).values()
        for step in node.get("steps") or []
        if step.get("serviceName") and not step.get("serviceUrl")
    }


def predict_url(isvc: Obj) -> str | None:
    """status.address.url + the predict path of the isvc's protocol; None until it has one."""
    base = ((isvc.get("status") or {}).get("address") or {}).get("url")
    if not base:
        return None
    name = isvc["metadata"]["name"]
    if _protocol(isvc) == "v2":
        return f"{base}/v2/models/{name}/infer"
    return f"{base}/v1/models/{name}:predict"


def _protocol(isvc: Obj) -> str:
    """The protocol written on the model of the isvc's entry (a transformer has none)."""
    try:
        typed = isvc_spec.parse(isvc)
    except InvalidSpec:
        return "v1"
    found = typed.spec.predictor.implementation()
    if typed.spec.transformer is not None or found is None:
        return "v1"
    return found[1].protocol_version or "v1"


def resolved_spec(graph: Obj, urls: dict[str, str]) -> Obj:
    """The spec with `serviceUrl` filled in for every serviceName step."""
    spec = copy.deepcopy(graph.get("spec") or {})
    for node in spec.get("nodes", {}).values():
        for step in node.get("steps") or []:
            if step.get("serviceName") and not step.get("serviceUrl"):
                step["serviceUrl"] = urls[step["serviceName"]]
    return spec


def check(graph: Obj) -> None:
    """What the CRD's rules cannot say: nodeName targets must be nodes of this graph."""
    nodes = (graph.get("spec") or {}).get("nodes") or {}
    if "root" not in nodes:
        raise InvalidSpec("InvalidGraph", "spec.nodes: a node named root is required")
    for node_name, node in nodes.items():
        for i, step in enumerate(node.get("steps") or []):
            target = step.get("nodeName")
            if target and target not in nodes:
                raise InvalidSpec(
                    "InvalidGraph",
                    f"spec.nodes.{node_name}.steps[{i}]: nodeName {target} is not a node",
                )


def owner_reference(graph: Obj) -> Obj:
    meta = graph["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def app(graph: Obj) -> str:
    """The pod selector value, upstream's raw form: `isvc.<graph>`."""
    return f"isvc.{graph['metadata']['name']}"


def labels(graph: Obj) -> dict[str, str]:
    meta = graph["metadata"]
    return {**(meta.get("labels") or {}), GRAPH_LABEL: meta["name"], "app": app(graph)}


def _metadata(graph: Obj) -> Obj:
    meta = graph["metadata"]
    out: Obj = {
        "name": meta["name"],
        "namespace": meta["namespace"],
        "labels": labels(graph),
        "ownerReferences": [owner_reference(graph)],
    }
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    if annotations:
        out["annotations"] = annotations
    return out


def all_objects(graph: Obj, *, spec: Obj, config: ControllerConfig) -> list[Obj]:
    """`spec`: the graph's spec with serviceUrls resolved (resolved_spec)."""
    work = _workload(graph, spec=spec, config=config)
    name = graph["metadata"]["name"]
    objects = [
        workload.deployment(work, rollout=config.deploy.default_rollout),
        workload.service(work, ports=[workload.port(name, workload.SERVICE_PORT, ROUTER_PORT)]),
    ]
    if work.scaling.wants_hpa:
        objects.append(workload.hpa(work))
    if graph_route.wanted(graph, config):
        objects.append(graph_route.build(graph, metadata=_metadata(graph), config=config))
    return objects


def _workload(graph: Obj, *, spec: Obj, config: ControllerConfig) -> workload.Workload:
    annotations = graph["metadata"].get("annotations") or {}
    typed = InferenceGraphSpec.model_validate(spec)
    scaling = Scaling(
        autoscaler_class=str(annotations.get(AUTOSCALER_ANNOTATION, "hpa")),
        min_replicas=typed.min_replicas,
        max_replicas=typed.max_replicas,
        metric=typed.scale_metric,
        target=typed.scale_target,
    )
    return workload.Workload(
        metadata=_metadata(graph),
        object_metadata=_metadata(graph),
        app=app(graph),
        pod=pod(graph, spec=spec, router=config.router),
        pod_metadata={"labels": labels(graph)},
        scaling=scaling,
        # upstream's raw graph: minReplicas, at least one, when no HPA scales the router
        replicas=None if scaling.wants_hpa else (typed.min_replicas or 1),
    )


def pod(graph: Obj, *, spec: Obj, router: RouterConfig) -> Obj:
    container: Obj = {
        "name": graph["metadata"]["name"],
        "image": router.image,
        "imagePullPolicy": router.image_pull_policy,
        "args": ["--graph-json", json.dumps(spec, sort_keys=True, separators=(",", ":"))],
        "ports": [{"containerPort": ROUTER_PORT, "name": "http", "protocol": "TCP"}],
        "resources": _resources(spec, router),
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": ROUTER_PORT, "scheme": "HTTP"},
            "initialDelaySeconds": 5,
            "timeoutSeconds": 2,
            "periodSeconds": 5,
            "successThreshold": 1,
            "failureThreshold": 3,
        },
        "securityContext": copy.deepcopy(workload.LOCKED_DOWN),
    }
    propagate = router.headers.get("propagate")
    if propagate:  # upstream sets it even when empty: the same to the router
        container["env"] = [{"name": PROPAGATE_ENV, "value": ",".join(propagate)}]
    out: Obj = {
        "containers": [container],
        # the router never talks to the apiserver
        "automountServiceAccountToken": False,
    }
    if router.image_pull_secrets:
        out["imagePullSecrets"] = [{"name": n} for n in router.image_pull_secrets]
    for key in ("affinity", "tolerations", "nodeSelector", "nodeName", "serviceAccountName"):
        if spec.get(key):
            out[key] = copy.deepcopy(spec[key])
    return out


def _resources(spec: Obj, router: RouterConfig) -> Obj:
    if spec.get("resources"):  # the graph's own replace the defaults, as upstream
        return {
            part: {k: str(v) for k, v in values.items()}
            for part, values in spec["resources"].items()
            if part in ("limits", "requests") and values
        }
    return router.requirements()
