"""`status.canaryStatuses` and the canary conditions, from the canaries' Deployments (pure).

A canary is ready once its Deployment has an available replica (upstream). `trafficPercent`
is the share the routes carry now: the entry's percent once the canary was seen ready, 0
before, and 0 without Gateway API (an Ingress cannot split traffic). CanaryPredictorReady
(True when every canary is ready) and CanaryTrafficSplit (only without Gateway API: False,
the split needs it) have severity Info: the stable predictor serves either way, so Ready
does not wait on a canary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kserve_controller.build import canary
from kserve_controller.conditions import info
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

CANARY_PREDICTOR_READY = "CanaryPredictorReady"
CANARY_TRAFFIC_SPLIT = "CanaryTrafficSplit"
TYPES = (CANARY_PREDICTOR_READY, CANARY_TRAFFIC_SPLIT)


def service(isvc: Isvc, name: str) -> str:
    return f"{isvc.name}-{name}-predictor"


def statuses(
    isvc: Isvc, deployments: Mapping[str, Obj | None], *, routed: Mapping[str, int]
) -> list[Obj]:
    """One entry per canary: name, ready, the percent routed to it now."""
    out = []
    for entry in canary.entries(isvc):
        name = str(entry.predictor.name)
        deployment = deployments.get(service(isvc, name)) or {}
        available = int((deployment.get("status") or {}).get("availableReplicas") or 0)
        out.append(
            {
                "name": name,
                "ready": available > 0,
                "trafficPercent": routed.get(service(isvc, name), 0),
            }
        )
    return out


def conditions(
    entries: list[Obj], *, gateway_api: bool, traffic_percent: bool = False
) -> list[Obj]:
    """`traffic_percent`: the predictor sets canaryTrafficPercent (the split needs routes too)."""
    if not entries:
        return [] if gateway_api or not traffic_percent else [_needs_gateway_api()]
    waiting = [e["name"] for e in entries if not e["ready"]]
    if waiting:
        ready = info(
            CANARY_PREDICTOR_READY,
            "False",
            "CanariesNotReady",
            f"canary predictor {', '.join(waiting)} has no available replica yet",
        )
    else:
        ready = info(CANARY_PREDICTOR_READY, "True", "AllCanariesReady")
    if gateway_api:
        return [ready]
    return [ready, _needs_gateway_api()]


def _needs_gateway_api() -> Obj:
    return info(
        CANARY_TRAFFIC_SPLIT,
        "False",
        "GatewayAPIRequired",
        "a canary traffic split (spec.canary, canaryTrafficPercent) needs Gateway API mode "
        "(ingress.enableGatewayApi in the inferenceservice-config ConfigMap): the Ingress "
        "sends every request to the stable predictor; a canary answers only at its own Service",
    )
