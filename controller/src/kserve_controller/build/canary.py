"""`spec.canary[]` in Standard mode, as upstream v0.20 designed it (pure).

Each entry runs its own predictor, `<isvc>-<predictor.name>-predictor`: the stable predictor
with the entry's fields laid over it (maps merged, lists and values replaced), at a fixed
replica count: the entry's minReplicas, else ceil(stable minReplicas (1) x percent / 100).
Traffic moves only toward canaries that are ready: the route weights read readiness from
`status.canaryStatuses` (the previous pass's observation, as upstream), so a canary gets its
share from the pass after its Deployment became Available. The stable predictor's
minReplicas shrinks by the ready canaries' replicas (at least 1), so capacity moves with
traffic and never ahead of it.

Promotion: set predictor.name to the canary's name and remove the entry (the canary's objects
become the predictor's, the old predictor's go). Rollback: remove the entry.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from pydantic import ValidationError

from kserve_controller.api.inferenceservice import CanarySpec
from kserve_controller.api.predictor import PredictorSpec
from kserve_controller.build import names
from kserve_controller.errors import InvalidSpec
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

ENDPOINT = "canary"  # what a canary's logged events say it is (the agent's endpoint)
# The fields a canary never has: it runs a fixed number of replicas.
SCALING_FIELDS = ("maxReplicas", "scaleTarget", "scaleMetric", "autoScaling")


def entries(isvc: Isvc) -> list[CanarySpec]:
    return list(isvc.spec.canary or [])


def ready_names(isvc: Isvc) -> set[str]:
    """The canaries the last pass saw ready (`status.canaryStatuses`)."""
    return {
        str(s.get("name"))
        for s in isvc.status.get("canaryStatuses") or []
        if isinstance(s, dict) and s.get("ready") is True
    }


def replicas(isvc: Isvc, entry: CanarySpec) -> int:
    if entry.predictor.min_replicas is not None:
        return entry.predictor.min_replicas
    stable = isvc.spec.predictor.min_replicas
    stable = 1 if stable is None else stable
    return math.ceil(stable * entry.traffic_percent / 100)


def weights(isvc: Isvc) -> dict[str, int]:
    """Predictor Service → percent of the traffic: the ready canaries get theirs, the stable
    predictor the rest. Only the stable predictor when there is no ready canary."""
    ready = ready_names(isvc)
    split = {
        _service(isvc, e): e.traffic_percent for e in entries(isvc) if e.predictor.name in ready
    }
    return {names.predictor(isvc): 100 - sum(split.values()), **split}


def stable(isvc: Isvc) -> Isvc:
    """The InferenceService whose predictor is the stable one, its minReplicas lowered by the
    ready canaries' replicas (upstream's adjustment; only when minReplicas is set)."""
    minimum = isvc.spec.predictor.min_replicas
    ready = ready_names(isvc)
    taken = sum(replicas(isvc, e) for e in entries(isvc) if e.predictor.name in ready)
    if minimum is None or taken == 0:
        return isvc
    predictor = isvc.spec.predictor.model_copy(update={"min_replicas": max(minimum - taken, 1)})
    return _with_predictor(isvc, predictor)


def canaries(isvc: Isvc) -> list[Isvc]:
    """One InferenceService per canary entry whose predictor is the canary's, for the
    component builders (names follow predictor.name)."""
    base = isvc.spec.predictor.wire()
    out = []
    for index, entry in enumerate(entries(isvc)):
        merged = _merge(base, entry.predictor.wire())
        for key in SCALING_FIELDS:
            merged.pop(key, None)
        merged["minReplicas"] = replicas(isvc, entry)
        try:
            predictor = PredictorSpec.model_validate(merged)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidSpec(
                "InvalidCanarySpec",
                f"spec.canary[{index}].predictor laid over spec.predictor: {where}: {first['msg']}",
            ) from err
        out.append(_with_predictor(isvc, predictor))
    return out


def _service(isvc: Isvc, entry: CanarySpec) -> str:
    return f"{isvc.name}-{entry.predictor.name}-predictor"


def _with_predictor(isvc: Isvc, predictor: PredictorSpec) -> Isvc:
    spec = isvc.spec.model_copy(update={"predictor": predictor, "canary": None})
    return dataclasses.replace(isvc, spec=spec)


def _merge(base: Obj, over: Obj) -> Obj:
    """`over` laid over `base`: maps merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
