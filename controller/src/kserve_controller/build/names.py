"""Names, labels and owner references of the objects made for an InferenceService."""

from typing import Any

from kserve_controller import spec
from kserve_controller.spec import Component, Isvc, Meta

Obj = dict[str, Any]

ISVC_LABEL = "serving.kserve.io/inferenceservice"
COMPONENT_LABEL = "component"
API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
STORAGE_URI_ANNOTATION = "internal.serving.kserve.io/storage-initializer-sourceuri"
# Never copied from the InferenceService onto its children (upstream's built-in list).
DISALLOWED_ANNOTATIONS = frozenset(
    {
        "autoscaling.knative.dev/min-scale",
        "autoscaling.knative.dev/max-scale",
        "internal.serving.kserve.io/storage-initializer-sourceuri",
        "kubectl.kubernetes.io/last-applied-configuration",
        "modelFormat",
    }
)


def _whole(isvc: Isvc | Component) -> Isvc:
    return isvc.isvc if isinstance(isvc, Component) else isvc


def _part(isvc: Isvc | Component) -> Component:
    """A component as itself, an InferenceService as its predictor."""
    return isvc if isinstance(isvc, Component) else spec.predictor(isvc)


def predictor(isvc: Isvc | Component) -> str:
    """`<isvc>-predictor`, or `<isvc>-<predictor.name>-predictor` when the predictor is named."""
    sub = _whole(isvc).spec.predictor.name
    return f"{isvc.name}-{sub}-predictor" if sub else f"{isvc.name}-predictor"


def workload(isvc: Isvc | Component) -> str:
    """The Deployment, Service and HPA name of a component (of the predictor for a whole
    InferenceService)."""
    return component(isvc, _part(isvc).kind)


def component(isvc: Isvc | Component, part: str) -> str:
    """`<isvc>-transformer`, `<isvc>-explainer` (and the predictor's name for "predictor")."""
    return predictor(isvc) if part == "predictor" else f"{isvc.name}-{part}"


def app(isvc: Isvc | Component) -> str:
    """The pod selector value: `isvc.<isvc>-predictor` (or `-transformer`, `-explainer`)."""
    return f"isvc.{workload(isvc)}"


def owner_reference(isvc: Meta) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": isvc.name,
        "uid": isvc.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def labels(
    isvc: Component,
    *,
    runtime_labels: dict[str, str] | None = None,
    disallowed: tuple[str, ...] = (),
) -> dict[str, str]:
    """Runtime labels < isvc labels < component labels < ours (later wins), as upstream."""
    merged = {
        **(runtime_labels or {}),
        **{k: v for k, v in isvc.labels.items() if k not in disallowed},
        **(isvc.spec.labels or {}),
    }
    merged.update({ISVC_LABEL: isvc.name, COMPONENT_LABEL: isvc.kind, "app": app(isvc)})
    return merged


def annotations(
    isvc: Component,
    *,
    runtime_annotations: dict[str, str] | None = None,
    disallowed: tuple[str, ...] = (),
) -> dict[str, str]:
    """Runtime annotations < isvc < component, minus the disallowed keys, plus the storage URI."""
    drop = DISALLOWED_ANNOTATIONS | set(disallowed)
    merged = {
        **(runtime_annotations or {}),
        **{k: v for k, v in isvc.annotations.items() if k not in drop},
        **{k: v for k, v in (isvc.spec.annotations or {}).items() if k not in drop},
    }
    if isvc.storage_uri:
        merged[STORAGE_URI_ANNOTATION] = isvc.storage_uri
    return merged


def metadata(
    isvc: Meta, *, name: str, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> Obj:
    meta: Obj = {
        "name": name,
        "namespace": isvc.namespace,
        "labels": labels,
        "ownerReferences": [owner_reference(isvc)],
    }
    if annotations:
        meta["annotations"] = annotations
    return meta
