"""A keda-class component's condition, from its Deployment's and its ScaledObject's (pure).

KEDA writes `Ready` (its triggers can be read: the metrics backend answers, the target
exists) and `Active` (a trigger is above its activation threshold) on a ScaledObject. A
ScaledObject that is not Ready leaves the Deployment at whatever replica count it has, so the
component is not Ready either, with KEDA's reason and message. A Deployment KEDA scaled to zero
is a normal state (minReplicas 0): the component stays Ready and says so. Without the
ScaledObject CRD the component cannot be scaled as asked, and its condition names the CRD.
"""

from __future__ import annotations

from typing import Any

from kserve_controller import conditions
from kserve_controller.build import scaledobject
from kserve_controller.spec import AUTOSCALER_ANNOTATION

Obj = dict[str, Any]

NOT_INSTALLED = "KEDANotInstalled"
SCALED_TO_ZERO = "ScaledToZero"
NOT_READY = "ScaledObjectNotReady"


def fold(
    cond: Obj,
    *,
    scaled_object: Obj | None,
    deployment: Obj | None,
    missing: bool = False,
    held: bool = False,
) -> Obj:
    """`cond` (the component's condition from its Deployment) as the ScaledObject amends it;
    `held`: the activator holds its requests while it scales up from zero."""
    kind = str(cond["type"])
    if missing:
        return conditions.condition(
            kind,
            "False",
            NOT_INSTALLED,
            f"{AUTOSCALER_ANNOTATION} keda needs KEDA's CRD {scaledobject.CRD}, which is not "
            "installed: install KEDA, or use the autoscaler class hpa",
        )
    if scaled_object is None:
        return cond
    name = scaled_object["metadata"]["name"]
    found = {c.get("type"): c for c in (scaled_object.get("status") or {}).get("conditions") or []}
    ready = found.get("Ready") or {}
    if ready.get("status") == "False":
        message = str(ready.get("message") or "its triggers cannot be read")
        return conditions.condition(
            kind, "False", str(ready.get("reason") or NOT_READY), f"ScaledObject {name}: {message}"
        )
    replicas = ((deployment or {}).get("spec") or {}).get("replicas")
    if cond["status"] == "True" and replicas == 0:
        active = (found.get("Active") or {}).get("status") == "True"
        why = "scaling up" if active else "no trigger is active"
        wake = (
            "a request wakes it: the activator holds requests while it starts"
            if held
            else "it scales up when a trigger is active (requests are not held meanwhile)"
        )
        return conditions.condition(
            kind, "True", SCALED_TO_ZERO, f"scaled to zero by ScaledObject {name} ({why}); {wake}"
        )
    return cond
