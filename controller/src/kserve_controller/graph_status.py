"""An InferenceGraph's status from its Deployment (pure), as upstream's raw mode reports it:
Ready when the Deployment is Available, with `url` `http://` + the ingress domain template
(`<graph>-<namespace>.<domain>` by default); `<graph>.<namespace>.svc.cluster.local` when
cluster-local. A graph that cannot run yet says why in Ready's reason and message.
"""

from __future__ import annotations

from typing import Any

from kserve_controller import conditions
from kserve_controller.build import graph_route
from kserve_controller.config import ControllerConfig

Obj = dict[str, Any]

READY = "Ready"
STOPPED = "Stopped"


def url(graph: Obj, config: ControllerConfig) -> str:
    meta = graph["metadata"]
    if graph_route.cluster_local(graph, config):
        return f"http://{meta['name']}.{meta['namespace']}.{graph_route.CLUSTER_LOCAL}"
    return f"http://{graph_route.host(graph, config)}"


def compute(
    graph: Obj,
    *,
    deployment: Obj | None,
    config: ControllerConfig,
    now: str,
    ingress: Obj | None = None,
) -> Obj:
    """`ingress`: IngressReady from the graph's HTTPRoute (Gateway API mode), which Ready
    then waits for too."""
    ready = _ready(deployment)
    conds = [_cond(STOPPED, "False")]
    if ingress is not None:
        conds.append(ingress)
        if ready["status"] == "True" and ingress["status"] != "True":
            ready = _cond(READY, "False", ingress.get("reason", ""), ingress.get("message", ""))
    status: Obj = {
        "observedGeneration": int(graph["metadata"].get("generation") or 0),
        "deploymentMode": "Standard",
        "conditions": conditions.stamped(
            sorted([ready, *conds], key=lambda c: str(c["type"])), previous=graph, now=now
        ),
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
