"""Status conditions in Knative's duck-typed shape, which KServe's status uses."""

from typing import Literal

from kserve_controller.api.base import KubeModel

ConditionStatus = Literal["True", "False", "Unknown"]

# Condition types the Standard (raw) mode writes.
READY = "Ready"
PREDICTOR_READY = "PredictorReady"
TRANSFORMER_READY = "TransformerReady"
EXPLAINER_READY = "ExplainerReady"
INGRESS_READY = "IngressReady"
STOPPED = "Stopped"
CANARY_PREDICTOR_READY = "CanaryPredictorReady"


class Condition(KubeModel):
    """One observation of the object's state; `Ready` summarizes the others."""

    type: str
    status: ConditionStatus
    severity: Literal["Error", "Warning", "Info", ""] | None = None
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


def find(conditions: list[Condition] | None, kind: str) -> Condition | None:
    """The condition of type `kind`, if present."""
    return next((c for c in conditions or [] if c.type == kind), None)
