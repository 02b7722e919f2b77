"""The `serving.kserve.io/stop` annotation, as upstream: "true" in any case stops an
InferenceService or InferenceGraph. Its Deployments, Services, HPAs and Ingress are deleted
and its status says Stopped; without the annotation (or with "false") they come back (pure).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kserve_controller import conditions

Obj = dict[str, Any]

ANNOTATION = "serving.kserve.io/stop"
STOPPED = "Stopped"  # the condition type, and the reason of every readiness condition
READINESS = ("Ready", "PredictorReady", "TransformerReady", "ExplainerReady", "IngressReady")


def requested(annotations: Mapping[str, str] | None) -> bool:
    return str((annotations or {}).get(ANNOTATION, "")).casefold() == "true"


def mark(status: Obj, *, stopped: bool, previous: Obj, now: str) -> Obj:
    """`status` with the Stopped condition (severity Info: Ready does not depend on it).
    Stopped, every readiness condition is False with reason Stopped, and no URL is given."""
    conds = [c for c in status.get("conditions") or [] if c["type"] != STOPPED]
    if stopped:
        conds = [
            conditions.condition(c["type"], "False", STOPPED) if c["type"] in READINESS else c
            for c in conds
        ]
        status = {k: v for k, v in status.items() if k not in ("url", "address", "components")}
    flag = {**conditions.condition(STOPPED, "True" if stopped else "False"), "severity": "Info"}
    ordered = sorted(
        [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in [*conds, flag]],
        key=lambda c: str(c["type"]),
    )
    return {**status, "conditions": conditions.stamped(ordered, previous=previous, now=now)}
