"""Status conditions shared by the InferenceService and InferenceGraph status: one condition
dict, a workload's readiness read from its Deployment's own conditions, transition times,
and a condition put in place of another (a setting that stops or is not supported)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

READY = "Ready"


def condition(kind: str, state: str, reason: str = "", message: str = "") -> Obj:
    out: Obj = {"type": kind, "status": state}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def info(kind: str, state: str, reason: str = "", message: str = "") -> Obj:
    """A condition that informs and never gates Ready (severity Info, as knative marks one)."""
    return {**condition(kind, state, reason, message), "severity": "Info"}


def available(deployment: Obj | None) -> bool:
    conds = ((deployment or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conds)


def from_deployment(
    kind: str,
    deployment: Obj | None,
    *,
    load_failure: str | None = None,
    stranded: tuple[str, str] | None = None,
) -> Obj:
    """Condition `kind` from the Deployment: True once Available; else the most telling reason
    (a failed model load when `load_failure` is given, pods stranded on a silent node when
    `stranded` (reason, message) is, a ReplicaFailure, a stalled rollout, the Available
    condition's own reason), Unknown while the Deployment has no conditions yet."""
    if deployment is None:
        return condition(kind, "False", "DeploymentNotCreated", "Deployment not created yet")
    name = deployment["metadata"]["name"]
    conds = {c.get("type"): c for c in (deployment.get("status") or {}).get("conditions") or []}
    ready = conds.get("Available")
    if ready and ready.get("status") == "True":
        return condition(kind, "True")
    if load_failure is not None:
        return condition(kind, "False", "ModelLoadFailed", load_failure)
    if stranded is not None:
        return condition(kind, "False", *stranded)
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


def stamped(conds: list[Obj], *, previous: Obj, now: str) -> list[Obj]:
    """Transition times kept while a condition's status stays: no write when nothing changed.

    `previous`: the object (its `status.conditions`) the conditions replace.
    """
    old = {c.get("type"): c for c in (previous.get("status") or {}).get("conditions") or []}
    out = []
    for cond in conds:
        before = old.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        stamp = before.get("lastTransitionTime") if same and before else None
        out.append({**cond, "lastTransitionTime": stamp or now})
    return out


def replace(status: Obj, new: Obj, *, previous: Obj, now: str) -> Obj:
    """`status` with `new` (a False condition) in place of the one of its type. Ready turns
    False with `new`'s reason when it was True or blamed the condition replaced."""
    conds = [c for c in status.get("conditions") or [] if c["type"] != new["type"]]
    old: Obj = next((c for c in status.get("conditions") or [] if c["type"] == new["type"]), {})
    blamed = (old.get("reason"), old.get("message"))
    ready = condition(READY, "False", new.get("reason", ""), new.get("message", ""))
    out = []
    for cond in [*conds, new]:
        if cond["type"] == READY and (
            cond["status"] == "True" or (cond.get("reason"), cond.get("message")) == blamed
        ):
            out.append(ready)
        else:
            out.append({k: v for k, v in cond.items() if k != "lastTransitionTime"})
    ordered = sorted(out, key=lambda c: str(c["type"]))
    return {**status, "conditions": stamped(ordered, previous=previous, now=now)}
