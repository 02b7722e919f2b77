"""An InferenceGraph's external host, and its HTTPRoute in Gateway API mode (pure).

Upstream's raw mode gives a graph a URL but no route; here a graph gets the same kind of
route as an InferenceService's top level, so its URL answers through the gateway: `<graph>`
on `<graph>-<namespace>.<domain>` to the router's Service, attached to kserveIngressGateway.
None when the graph is cluster-local or ingress creation is disabled.
"""

from __future__ import annotations

from typing import Any

from kserve_controller.build import httproute, template, workload
from kserve_controller.config import ControllerConfig

Obj = dict[str, Any]

VISIBILITY_LABEL = "networking.kserve.io/visibility"
CLUSTER_LOCAL = "svc.cluster.local"


def cluster_local(graph: Obj, config: ControllerConfig) -> bool:
    labels = graph["metadata"].get("labels") or {}
    return (
        labels.get(VISIBILITY_LABEL) == "cluster-local"
        or config.ingress.ingress_domain == CLUSTER_LOCAL
    )


def host(graph: Obj, config: ControllerConfig) -> str:
    """The domain template over the graph's name (`<graph>-<namespace>.<domain>`)."""
    meta = graph["metadata"]
    data = {
        "Name": meta["name"],
        "Namespace": meta["namespace"],
        "IngressDomain": config.ingress.ingress_domain,
        "Labels": meta.get("labels") or {},
        "Annotations": meta.get("annotations") or {},
    }
    return str(template.render(config.ingress.domain_template, data=data))


def wanted(graph: Obj, config: ControllerConfig) -> bool:
    ingress = config.ingress
    return (
        ingress.enable_gateway_api
        and not ingress.disable_ingress_creation
        and not cluster_local(graph, config)
    )


def build(graph: Obj, *, metadata: Obj, config: ControllerConfig) -> Obj:
    """`metadata`: the graph's objects' metadata (name, labels, owner reference)."""
    name = graph["metadata"]["name"]
    backend = {"group": "", "kind": "Service", "name": name, "port": workload.SERVICE_PORT}
    rule: Obj = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [backend],
    }
    if not config.ingress.disable_http_route_timeout:
        rule["timeouts"] = {"request": f"{httproute.DEFAULT_TIMEOUT_SECONDS}s"}
    return {
        "apiVersion": httproute.API_VERSION,
        "kind": httproute.KIND,
        "metadata": metadata,
        "spec": {
            "parentRefs": [httproute.parent_ref(config)],
            "hostnames": [host(graph, config)],
            "rules": [rule],
        },
    }
