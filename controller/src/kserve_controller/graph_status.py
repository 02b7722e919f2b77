"""An InferenceGraph's status from its Deployment (pure), as upstream's raw mode reports it:
Ready when the Deployment is Available, with `url` `http://` + the ingress domain template
(`<graph>-<namespace>.<domain>` by default); `<graph>.<namespace>.svc.cluster.local` when
cluster-local. A graph that cannot run yet says why in Ready's reason and message.
"""

from __future__ import annotations

from typing import Any

from kserve_controller import conditions
from kserve_controller.build import template
from kserve_controller.config import ControllerConfig

Obj = dict[str, Any]

READY = "Ready"
STOPPED = "Stopped"
VISIBILITY_LABEL = "networking.kserve.io/visibility"
CLUSTER_LOCAL = "svc.cluster.local"


def url(graph: Obj, config: ControllerConfig) -> str:
    meta = graph["metadata"]
    labels = meta.get("labels") or {}
    if labels.get(VISIBILITY_LABEL) == "cluster-local" or (
        config.ingress.ingress_domain == CLUSTER_LOCAL
    ):
        return f"http://{meta['name']}.{meta['namespace']}.{CLUSTER_LOCAL}"
    data = {
        "Name": meta["name"],
        "Namespace": meta["namespace"],
        "IngressDomain": config.ingress.ingress_domain,
        "Labels": labels,
        "Annotations": meta.get("annotations") or {},
    }
    return f"http://{template.render(config.ingress.domain_template, data=data)}"


def compute(graph: Obj, *, deployment: Obj | None, config: ControllerConfig, now: str) -> Obj:
    ready = _ready(deployment)
    status: Obj = {
        "observedGeneration": int(graph["metadata"].get("generation") or 0),
        "deploymentMode": "Standard",
        "conditions": conditions.stamped([ready, _cond(STOPPED, "False")], previous=graph, now=now),
    }
    if ready["status"] == "True":
        status["url"] = url(graph, config)
    return status


def stopped(graph: Obj, *, now: str) -> Obj:
    """Status of a graph stopped by the `serving.kserve.io/stop` annotation (no URL)."""
    conds = [_cond(STOPPED, "True"), _cond(READY, "False", STOPPED)]
    return {
        "observedGeneration": int(graph["metadata"].get("generation") or 0),
        "deploymentMode": "Standard",
        "conditions": conditions.stamped(conds, previous=graph, now=now),
    }


def not_ready(graph: Obj, *, reason: str, message: str, now: str) -> Obj:
    """Status of a graph whose objects are not made (yet): a missing service, a bad spec."""
    ready = _cond(READY, "False", reason, message)
    return {
        "observedGeneration": int(graph["metadata"].get("generation") or 0),
        "deploymentMode": "Standard",
        "conditions": conditions.stamped([ready, _cond(STOPPED, "False")], previous=graph, now=now),
    }


def is_ready(status: Obj) -> bool:
    return any(
        c.get("type") == READY and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _ready(deployment: Obj | None) -> Obj:
    return conditions.from_deployment(READY, deployment)


_cond = conditions.condition
