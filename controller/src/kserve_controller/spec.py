"""An InferenceService dict read into the few facts the builders need (pure).

Without upstream's defaulting webhook the stored object keeps what the user wrote, so the
framework shorthand (`predictor.sklearn`) and `predictor.model` are made one thing here,
in memory. Everything the CRD accepts but this controller does not implement is turned into
NotSupported here, so it shows in status instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kserve_controller.api.predictor import FRAMEWORKS
from kserve_controller.config import ControllerConfig, normalize_mode
from kserve_controller.errors import InvalidSpec, NotSupported

Obj = dict[str, Any]

# Shorthands upstream's defaulter gives protocol v2 when none is set.
V2_BY_DEFAULT = {"triton", "onnx", "huggingface"}

MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_ANNOTATION = "serving.kserve.io/autoscalerClass"
AUTOSCALER_CLASSES = ("hpa", "external", "none", "keda")
# The components beside the predictor, each served by its own Deployment, Service and HPA.
EXTRA_COMPONENTS = ("transformer", "explainer")

# `type`s of a storage spec (`predictor.model.storage`); gs is ours, upstream's docs show it.
STORAGE_SPEC_TYPES = ("s3", "gs", "hdfs", "webhdfs")
STORAGE_SPEC_SCHEMES = tuple(f"{t}://" for t in STORAGE_SPEC_TYPES)

# Fields of `predictor.model` that are not container fields.
MODEL_ONLY_FIELDS = {
    "modelFormat",
    "runtime",
    "protocolVersion",
    "storageUri",
    "runtimeVersion",
    "storage",
    "confidential",
}


@dataclass(frozen=True)
class Model:
    """`predictor.model` (or a shorthand), split into model facts and container fields."""

    format: str
    version: str | None
    runtime: str | None
    protocol: str | None  # as written; None means "the runtime decides" (v1 for matching)
    storage_uri: str | None
    runtime_version: str | None
    container: Obj  # inline corev1.Container fields: args, env, resources, image, ...
    storage: Obj | None = None  # `storage{key, path, parameters, schemaPath}` as written


@dataclass(frozen=True)
class Isvc:
    name: str
    namespace: str
    uid: str
    generation: int
    labels: dict[str, str]
    annotations: dict[str, str]
    # The raw spec of the component built from this view: PodSpec fields +
    # ComponentExtensionSpec. The predictor, unless `component` names another one.
    predictor: Obj
    model: Model | None  # None for a custom predictor (predictor.containers)
    status: Obj = field(default_factory=dict)
    component: str = "predictor"
    # The other components' raw specs, when the InferenceService has them (in a view of
    # another component, the predictor's too).
    extras: dict[str, Obj] = field(default_factory=dict)

    @property
    def autoscaler_class(self) -> str:
        merged = {**self.annotations, **(self.predictor.get("annotations") or {})}
        return str(merged.get(AUTOSCALER_ANNOTATION, "hpa"))

    @property
    def storage_spec(self) -> Obj | None:
        return self.model.storage if self.model is not None else None

    @property
    def storage_uri(self) -> str | None:
        if self.model is not None:
            return self.model.storage_uri
        for container in self.predictor.get("containers") or []:
            for env in container.get("env") or []:
                if env.get("name") == "STORAGE_URI" and env.get("value"):
                    return str(env["value"])
        return None


def parse(raw: Obj) -> Isvc:
    """The stored InferenceService → Isvc; InvalidSpec when no predictor can be read."""
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    predictor = spec.get("predictor")
    if not isinstance(predictor, dict):
        raise InvalidSpec("InvalidPredictorSpec", "spec.predictor is required")
    return Isvc(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        uid=str(meta.get("uid", "")),
        generation=int(meta.get("generation") or 0),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        predictor=predictor,
        model=_model(predictor),
        status=dict(raw.get("status") or {}),
        extras={p: spec[p] for p in EXTRA_COMPONENTS if isinstance(spec.get(p), dict) and spec[p]},
    )


def view(isvc: Isvc, component: str) -> Isvc:
    """`isvc` seen as one of its other components: custom containers, no model, no runtime.

    The builders then make `<isvc>-<component>` from that component's own spec exactly as
    they make a custom predictor.
    """
    return replace(
        isvc,
        component=component,
        predictor=isvc.extras[component],
        model=None,
        extras={**isvc.extras, "predictor": isvc.predictor},
    )


def components(isvc: Isvc) -> list[Isvc]:
    """The predictor, then the transformer and explainer the InferenceService has."""
    return [isvc, *(view(isvc, c) for c in EXTRA_COMPONENTS if c in isvc.extras)]


def _model(predictor: Obj) -> Model | None:
    found = [fw for fw in FRAMEWORKS if predictor.get(fw) is not None]
    if predictor.get("model") is not None:
        found.append("model")
    if len(found) > 1:
        raise InvalidSpec(
            "InvalidPredictorSpec",
            f"exactly one of {', '.join(FRAMEWORKS)} or model may be set in spec.predictor; "
            f"found {', '.join(found)}",
        )
    if not found:
        if predictor.get("containers"):
            return None
        raise InvalidSpec(
            "InvalidPredictorSpec",
            "spec.predictor needs a model (predictor.model.modelFormat + storageUri), "
            "a framework such as predictor.sklearn, or containers",
        )
    key = found[0]
    body: Obj = predictor[key] or {}
    if key == "model":
        model_format = body.get("modelFormat") or {}
        name = model_format.get("name")
        if not name:
            raise InvalidSpec(
                "InvalidPredictorSpec", "spec.predictor.model.modelFormat.name is required"
            )
        version = model_format.get("version")
        protocol = body.get("protocolVersion")
    else:
        name, version = key, None
        protocol = body.get("protocolVersion") or ("v2" if key in V2_BY_DEFAULT else None)
    if body.get("storageUri") is not None and predictor.get("storageUris"):
        raise InvalidSpec("InvalidPredictorSpec", "storageUri and storageUris cannot both be set")
    return Model(
        format=str(name),
        version=str(version) if version is not None else None,
        runtime=body.get("runtime"),
        protocol=protocol,
        storage_uri=body.get("storageUri"),
        runtime_version=body.get("runtimeVersion"),
        storage=body.get("storage") or None,
        container={k: v for k, v in body.items() if k not in MODEL_ONLY_FIELDS},
    )


def deployment_mode(isvc: Isvc, config: ControllerConfig) -> str:
    """Sticky once in status, else the annotation, else the ConfigMap default."""
    for value in (isvc.status.get("deploymentMode"), isvc.annotations.get(MODE_ANNOTATION)):
        if value:
            mode = normalize_mode(str(value))
            if mode is None:
                raise InvalidSpec(
                    "InvalidDeploymentMode",
                    f"unknown deployment mode {value!r} in {MODE_ANNOTATION}; "
                    "use Standard (or its alias RawDeployment)",
                )
            return mode
    return config.deploy.default_deployment_mode


def check_supported(isvc: Isvc, raw: Obj, *, config: ControllerConfig) -> None:
    """NotSupported for what the CRD accepts but this controller does not implement."""
    mode = deployment_mode(isvc, config)
    if mode != "Standard":
        raise NotSupported(
            f"deployment mode {mode} is not supported; this controller runs Standard "
            f"(RawDeployment) only: set the annotation {MODE_ANNOTATION}: Standard"
        )
    spec = raw.get("spec") or {}
    if spec.get("canary"):
        raise NotSupported("spec.canary (canary traffic split) is not supported yet")
    if isvc.predictor.get("workerSpec"):
        raise NotSupported("spec.predictor.workerSpec (multi-node) is not supported")
    if isvc.storage_spec is not None:
        _check_storage_spec(isvc.storage_spec, storage_uri=isvc.storage_uri)
    for part in EXTRA_COMPONENTS:
        if spec.get(part) is not None and part not in isvc.extras:
            raise InvalidSpec(f"Invalid{part.title()}Spec", f"spec.{part} needs containers")
    explainer = isvc.extras.get("explainer") or {}
    if explainer.get("art"):
        raise NotSupported(
            "spec.explainer.art (the ART explainer) is not supported yet; "
            "use a custom explainer: spec.explainer.containers"
        )
    for component in components(isvc):
        _check_component(component)


def _check_component(isvc: Isvc) -> None:
    where = f"spec.{isvc.component}"
    if isvc.component != "predictor" and not isvc.predictor.get("containers"):
        raise InvalidSpec(
            f"Invalid{isvc.component.title()}Spec", f"{where}.containers needs a container"
        )
    if isvc.predictor.get("canaryTrafficPercent") is not None:
        raise NotSupported(f"{where}.canaryTrafficPercent is not supported in Standard mode")
    if isvc.predictor.get("storageUris"):
        raise NotSupported(f"{where}.storageUris is not supported yet; use storageUri")
    for part in ("logger", "batcher"):
        if isvc.predictor.get(part):
            raise NotSupported(f"{where}.{part} is not supported yet")
    autoscaler = isvc.autoscaler_class
    if autoscaler == "keda":
        raise NotSupported(f"{AUTOSCALER_ANNOTATION}: keda is not supported; use hpa or none")
    if autoscaler not in AUTOSCALER_CLASSES:
        raise InvalidSpec(
            "InvalidAutoscalerClass",
            f"{AUTOSCALER_ANNOTATION}: {autoscaler!r} is not one of hpa, external, none",
        )
    metric = isvc.predictor.get("scaleMetric")
    if autoscaler == "hpa" and metric not in (None, "cpu", "memory"):
        raise InvalidSpec(
            "InvalidScaleMetric",
            f"{where}.scaleMetric {metric!r} needs Knative; with an HPA use cpu or memory",
        )


def _check_storage_spec(storage: Obj, *, storage_uri: str | None) -> None:
    """Upstream's validation: a storageUri beside it and a `type` parameter name a storage type."""
    where = "spec.predictor.model.storage"
    if storage_uri is not None and not storage_uri.startswith(STORAGE_SPEC_SCHEMES):
        raise InvalidSpec(
            "InvalidStorageUri",
            f"storageUri {storage_uri!r} cannot be used with {where}; use one of "
            f"{', '.join(STORAGE_SPEC_SCHEMES)} or {where}.path",
        )
    kind = (storage.get("parameters") or {}).get("type")
    if kind is not None and kind not in STORAGE_SPEC_TYPES:
        raise InvalidSpec(
            "InvalidStorageConfig",
            f"{where}.parameters.type {kind!r} is not one of {', '.join(STORAGE_SPEC_TYPES)}",
        )
