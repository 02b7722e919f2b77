"""Status conditions shared by the InferenceService and InferenceGraph status: one condition
dict, and a workload's readiness read from its Deployment's own conditions."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def condition(kind: str, state: str, reason: str = "", message: str = "") -> Obj:
    out: Obj = {"type": kind, "status": state}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def available(deployment: Obj | None) -> bool:
    conds = ((deployment or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conds)


def from_deployment(kind: str, deployment: Obj | None, *, load_failure: str | None = None) -> Obj:
    """Condition `kind` from the Deployment: True once Available; else the most telling reason
    (a failed model load when `load_failure` is given, a ReplicaFailure, a stalled rollout, the
    Available condition's own reason), Unknown while the Deployment has no conditions yet."""
    if deployment is None:
        return condition(kind, "False", "DeploymentNotCreated", "Deployment not created yet")
    name = deployment["metadata"]["name"]
    conds = {c.get("type"): c for c in (deployment.get("status") or {}).get("conditions") or []}
    ready = conds.get("Available")
    if ready and ready.get("status") == "True":
        return condition(kind, "True")
    if load_failure is not None:
        return condition(kind, "False", "ModelLoadFailed", load_failure)
    for dep_kind, bad in (("ReplicaFailure", "True"), ("Progressing", "False")):
        cond = conds.get(dep_kind)
        if cond and cond.get("status") == bad:
            return condition(kind, "False", cond.get("reason", dep_kind), cond.get("message", ""))
    if ready is not None:
        return condition(
            kind,
            "False",
            ready.get("reason", "MinimumReplicasUnavailable"),
            ready.get("message", f"Deployment {name} is not available yet"),
        )
    return condition(kind, "Unknown", "DeploymentPending", f"Deployment {name} is starting")
