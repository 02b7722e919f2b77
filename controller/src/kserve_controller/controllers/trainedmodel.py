"""TrainedModel on the engine: multi-model serving is not implemented, and its status says so.

The CRD is installed (upstream's YAML applies unchanged), so a TrainedModel is accepted; the
controller then reports Ready=False with reason NotSupported on it, never silence.
"""

from __future__ import annotations

from typing import Any

from kserve_controller import conditions
from kserve_controller.engine import Controller, Observed, Plan
from kserve_controller.errors import NotServed, NotSupported

Obj = dict[str, Any]

MESSAGE = (
    "TrainedModel (multi-model serving) is not supported by this controller: "
    "serve the model with an InferenceService of its own"
)


class TrainedModelController(Controller):
    kind = "TrainedModel"
    spoken = "trained model"
    owner_label = ""
    owned = ()

    async def plan(self, obj: Obj) -> Plan:
        raise NotSupported(MESSAGE)

    def status(self, obj: Obj, plan: Plan, observed: Observed) -> Obj:
        raise AssertionError("a TrainedModel is never planned")  # plan() always refuses

    def invalid_status(self, obj: Obj, err: NotServed) -> Obj:
        ready = conditions.condition("Ready", "False", err.reason, err.message)
        return {
            "observedGeneration": int(obj["metadata"].get("generation") or 0),
            "conditions": conditions.stamped([ready], previous=obj, now=self.ctx.now()),
        }
