"""`predictor.canaryTrafficPercent` in Standard mode (beyond upstream, which ignores it there):
the last rolled-out predictor keeps serving (100 - p)% while the changed one gets p%, through
the same weighted HTTPRoutes as spec.canary (pure).

`<isvc>-predictor` always runs the latest spec, as without the field. When a change arrives
with p set (0 <= p < 100) and the running Deployment is available, its pod template is frozen
into `<isvc>-predictor-prev` (Deployment at the replicas it had, and a Service); the latest
Deployment is held (not updated) until that copy is available, so the old version never stops
serving. Then the latest rolls out and, once it is ready, takes p%.

Promote: remove the field (or set 100): the latest takes everything and the copy goes. Roll
back: set 0: the copy takes everything, the latest stays up with none. `status.components.
predictor.traffic` carries both, `tag: prev` and `latestRevision: true`, as Knative's status
does, so `kubectl get isvc` fills PREV and LATEST.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kserve_controller import diff
from kserve_controller.build import names
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

PREV = "prev"


def percent(isvc: Isvc) -> int | None:
    return isvc.spec.predictor.canary_traffic_percent


def prev_name(isvc: Isvc) -> str:
    return f"{names.predictor(isvc)}-{PREV}"


@dataclass(frozen=True)
class Rollout:
    """What the rollout wants this pass."""

    objects: list[Obj] = field(default_factory=list)  # the frozen copy, while it is needed
    hold_latest: bool = False  # do not update <isvc>-predictor yet
    weights: dict[str, int] | None = None  # Service -> percent; None: all to the latest
    traffic: list[Obj] | None = None  # status.components.predictor.traffic


def plan(
    isvc: Isvc,
    *,
    desired: Obj,
    service: Obj,
    latest: Obj | None,
    prev: Obj | None,
) -> Rollout:
    """`desired`/`service`: the latest predictor's Deployment and Service as built;
    `latest`/`prev`: the Deployments observed."""
    p = percent(isvc)
    latest_name, copy_name = names.predictor(isvc), prev_name(isvc)
    if p is None or p >= 100:
        return Rollout(traffic=_traffic(isvc, None, 100))  # promoted (or never split)
    changed = latest is not None and not diff.matches(
        desired["spec"]["template"], (latest.get("spec") or {}).get("template")
    )
    if prev is None and not (changed and available(latest)):
        return Rollout(traffic=_traffic(isvc, None, 100))  # nothing rolled out to keep
    source = prev if prev is not None else latest
    assert source is not None
    frozen = _frozen(isvc, source, service)
    if not available(prev):
        # The copy starts from the running version; the latest waits for it.
        return Rollout(objects=frozen, hold_latest=True, traffic=_traffic(isvc, 100, 0))
    # The latest's percent waits until it runs the changed template: in the pass that updates
    # it, it is still rolled out, but with the old one.
    latest_ready = not changed and _rolled_out(latest)
    share = p if latest_ready else 0
    weights = {copy_name: 100 - share, latest_name: share}
    return Rollout(objects=frozen, weights=weights, traffic=_traffic(isvc, 100 - share, share))


def available(deployment: Obj | None) -> bool:
    conds = ((deployment or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conds)


def _rolled_out(deployment: Obj | None) -> bool:
    """Available, and every replica runs the current template."""
    if not available(deployment):
        return False
    assert deployment is not None
    meta, status = deployment["metadata"], deployment.get("status") or {}
    replicas = int(status.get("replicas") or 0)
    return int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0) and (
        int(status.get("updatedReplicas") or 0) >= replicas
    )


def _frozen(isvc: Isvc, source: Obj, service: Obj) -> list[Obj]:
    """The copy's Deployment (the source's pod template, relabelled so the latest's Service
    does not select it) and its Service."""
    name = prev_name(isvc)
    app = f"isvc.{name}"
    template = copy.deepcopy(source["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})["app"] = app
    meta = source["metadata"]
    labels = {**(meta.get("labels") or {}), "app": app}
    replicas = int((source.get("spec") or {}).get("replicas") or 1)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": names.metadata(isvc, name=name, labels=labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": template,
        },
    }
    svc = copy.deepcopy(service)
    svc["metadata"] = {**svc["metadata"], "name": name, "labels": labels}
    svc["spec"]["selector"] = {"app": app}
    for port in svc["spec"].get("ports") or []:
        port.pop("nodePort", None)
    return [svc, deployment]


def _traffic(isvc: Isvc, prev: int | None, latest: int) -> list[Obj]:
    out = []
    if prev is not None:
        out.append(
            {"tag": PREV, "revisionName": prev_name(isvc), "latestRevision": False, "percent": prev}
        )
    out.append(
        {
            "tag": "latest",
            "revisionName": names.predictor(isvc),
            "latestRevision": True,
            "percent": latest,
        }
    )
    return out
