"""Names, labels and owner references of the objects made for an InferenceService."""

from typing import Any

from kserve_controller.spec import Isvc

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


def predictor(isvc: Isvc) -> str:
    """`<isvc>-predictor`, or `<isvc>-<predictor.name>-predictor` when the predictor is named."""
    spec = isvc.predictor if isvc.component == "predictor" else isvc.extras.get("predictor", {})
    sub = spec.get("name")
    return f"{isvc.name}-{sub}-predictor" if sub else f"{isvc.name}-predictor"


def workload(isvc: Isvc) -> str:
    """The Deployment, Service and HPA name of the component `isvc` is a view of."""
    if isvc.component == "predictor":
        return predictor(isvc)
    return component(isvc, isvc.component)


def component(isvc: Isvc, part: str) -> str:
    """`<isvc>-transformer`, `<isvc>-explainer` (and the predictor's name for "predictor")."""
    return predictor(isvc) if part == "predictor" else f"{isvc.name}-{part}"


def app(isvc: Isvc) -> str:
    """The pod selector value: `isvc.<isvc>-predictor` (or `-transformer`, `-explainer`)."""
    return f"isvc.{workload(isvc)}"


def owner_reference(isvc: Isvc) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": isvc.name,
        "uid": isvc.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def labels(
    isvc: Isvc,
    *,
    runtime_labels: dict[str, str] | None = None,
    disallowed: tuple[str, ...] = (),
) -> dict[str, str]:
    """Runtime labels < isvc labels < component labels < ours (later wins), as upstream."""
    merged = {
        **(runtime_labels or {}),
        **{k: v for k, v in isvc.labels.items() if k not in disallowed},
        **(isvc.predictor.get("labels") or {}),
    }
    merged.update({ISVC_LABEL: isvc.name, COMPONENT_LABEL: isvc.component, "app": app(isvc)})
    return merged


def annotations(
    isvc: Isvc,
    *,
    runtime_annotations: dict[str, str] | None = None,
    disallowed: tuple[str, ...] = (),
) -> dict[str, str]:
    """Runtime annotations < isvc < component, minus the disallowed keys, plus the storage URI."""
    drop = DISALLOWED_ANNOTATIONS | set(disallowed)
    merged = {
        **(runtime_annotations or {}),
        **{k: v for k, v in isvc.annotations.items() if k not in drop},
        **{k: v for k, v in (isvc.predictor.get("annotations") or {}).items() if k not in drop},
    }
    if isvc.storage_uri:
        merged[STORAGE_URI_ANNOTATION] = isvc.storage_uri
    return merged


def metadata(
    isvc: Isvc, *, name: str, labels: dict[str, str], annotations: dict[str, str] | None = None
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
