"""An InferenceService read once, typed (pure).

`parse` validates the stored object with the pydantic models of `api/` and keeps them; the
builders and the status read those typed fields, through `components(isvc)`: the predictor,
transformer and explainer as views with their pod fields, model and scaling. Without
upstream's defaulting webhook the stored object keeps what the user wrote, so the framework
shorthand (`predictor.sklearn`) and `predictor.model` are made one `Model` here, in memory.
Everything the CRD accepts but this controller does not implement is turned into
NotSupported here, so it shows in status instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from kserve_controller.api.component import MetricsSpec, ResourceMetricSource
from kserve_controller.api.inferenceservice import (
    ExplainerSpec,
    InferenceServiceSpec,
    TransformerSpec,
)
from kserve_controller.api.predictor import ModelSpec, PredictorSpec, StorageSpec
from kserve_controller.config import ControllerConfig, normalize_mode
from kserve_controller.errors import InvalidSpec, NotSupported

Obj = dict[str, Any]
# The typed spec of any of the three components (api.component.ComponentSpec is their base).
AnyComponentSpec = PredictorSpec | TransformerSpec | ExplainerSpec

# Shorthands upstream's defaulter gives protocol v2 when none is set.
V2_BY_DEFAULT = {"triton", "onnx", "huggingface"}

MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_ANNOTATION = "serving.kserve.io/autoscalerClass"
# Ours: seconds without a request before a keda component with minReplicas 0 goes to zero.
IDLE_ANNOTATION = "serving.kserve.io/scale-to-zero-idle-seconds"
AUTOSCALER_CLASSES = ("hpa", "external", "none", "keda")
# The components beside the predictor, each served by its own Deployment, Service and HPA.
EXTRA_COMPONENTS = ("transformer", "explainer")

# The service account whose Secrets hold the logger storage's credentials (upstream's default).
LOGGER_STORAGE_ACCOUNT = "logger-sa"
# What our logger writes to a bucket (upstream also writes parquet).
LOGGER_STORE_FORMATS = ("json", "csv")

# `type`s of a storage spec (`predictor.model.storage`); gs is ours, upstream's docs show it.
STORAGE_SPEC_TYPES = ("s3", "gs", "hdfs", "webhdfs")
STORAGE_SPEC_SCHEMES = tuple(f"{t}://" for t in STORAGE_SPEC_TYPES)


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
    storage: StorageSpec | None = None  # `storage{key, path, parameters, schemaPath}`


@dataclass(frozen=True)
class Scaling:
    """How a workload asks to be scaled: its autoscaler class, replicas and metrics."""

    autoscaler_class: str = "hpa"  # hpa | keda | external | none
    min_replicas: int | None = None
    max_replicas: int | None = None
    metric: str | None = None  # cpu (default) | memory
    target: int | None = None  # utilization percent
    # autoScaling.metrics' Resource metrics; when given (even none), they are the metrics.
    resource_metrics: tuple[ResourceMetricSource, ...] | None = None
    # autoScaling.metrics as written (every type: KEDA reads them all) and autoScaling.behavior.
    metrics: tuple[MetricsSpec, ...] | None = None
    behavior: Obj | None = None
    idle_seconds: int | None = None  # IDLE_ANNOTATION, checked by validate()

    @property
    def wants_hpa(self) -> bool:
        """Only the `hpa` class (the default) gets an HPA; `none` and `external` do not."""
        return self.autoscaler_class == "hpa"

    @property
    def wants_keda(self) -> bool:
        """The `keda` class gets a KEDA ScaledObject (and KEDA its own HPA) instead."""
        return self.autoscaler_class == "keda"

    @property
    def scales_to_zero(self) -> bool:
        """KEDA may take it to zero pods: class keda with minReplicas 0."""
        return self.wants_keda and self.min_replicas == 0


@dataclass(frozen=True, kw_only=True)
class Meta:
    """What every InferenceService has, even one whose spec cannot be read: enough for status."""

    name: str
    namespace: str
    uid: str = ""
    generation: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    status: Obj = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Isvc(Meta):
    """A valid InferenceService: its metadata and the typed spec that validated it."""

    spec: InferenceServiceSpec

    @cached_property
    def parts(self) -> tuple[Component, ...]:
        """The predictor, then the transformer and explainer the InferenceService has."""
        header = {f.name: getattr(self, f.name) for f in fields(Meta)}
        predictor = self.spec.predictor
        out = [
            Component(
                **header, isvc=self, kind="predictor", spec=predictor, model=_model(predictor)
            )
        ]
        for kind in EXTRA_COMPONENTS:
            part: AnyComponentSpec | None = getattr(self.spec, kind)
            if part is not None:
                out.append(Component(**header, isvc=self, kind=kind, spec=part, model=None))
        return tuple(out)

    @property
    def model(self) -> Model | None:
        """The predictor's model; None for a custom predictor (predictor.containers)."""
        return self.parts[0].model

    @property
    def extras(self) -> tuple[str, ...]:
        """The components beside the predictor that the InferenceService has."""
        return tuple(p.kind for p in self.parts[1:])


@dataclass(frozen=True, kw_only=True)
class Component(Meta):
    """One component (predictor, transformer or explainer) of `isvc`, as the builders read it:
    a transformer or explainer is custom containers, with no model and no runtime."""

    isvc: Isvc
    kind: str
    spec: AnyComponentSpec
    model: Model | None  # None for custom containers

    @cached_property
    def pod(self) -> Obj:
        """The PodSpec fields the component inlines, as written (Kubernetes' own types)."""
        return self.spec.inline()

    @property
    def autoscaler_class(self) -> str:
        return str(self.annotation(AUTOSCALER_ANNOTATION) or "hpa")

    def annotation(self, key: str) -> str | None:
        """The component's annotation, else the InferenceService's."""
        merged = {**self.annotations, **(self.spec.annotations or {})}
        value = merged.get(key)
        return None if value is None else str(value)

    @property
    def scaling(self) -> Scaling:
        spec = self.spec
        metrics = spec.auto_scaling.metrics if spec.auto_scaling is not None else None
        behavior = spec.auto_scaling.behavior if spec.auto_scaling is not None else None
        return Scaling(
            autoscaler_class=self.autoscaler_class,
            min_replicas=spec.min_replicas,
            max_replicas=spec.max_replicas,
            metric=spec.scale_metric,
            target=spec.scale_target,
            resource_metrics=_resource_metrics(metrics) if metrics else None,
            metrics=tuple(metrics) if metrics else None,
            behavior=behavior,
            idle_seconds=_whole_seconds(self.annotation(IDLE_ANNOTATION)),
        )

    @property
    def logger_storage_account(self) -> str | None:
        """The service account with the logger storage's credentials; None without storage."""
        logger = self.spec.logger
        if logger is None or logger.storage is None:
            return None
        return logger.storage.service_account_name or LOGGER_STORAGE_ACCOUNT

    @property
    def storage_spec(self) -> StorageSpec | None:
        return self.model.storage if self.model is not None else None

    @property
    def storage_uri(self) -> str | None:
        if self.model is not None:
            return self.model.storage_uri
        for container in self.spec.containers or []:
            for env in container.get("env") or []:
                if env.get("name") == "STORAGE_URI" and env.get("value"):
                    return str(env["value"])
        return None


def _whole_seconds(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def _resource_metrics(metrics: list[MetricsSpec]) -> tuple[ResourceMetricSource, ...]:
    return tuple(m.resource for m in metrics if m.type == "Resource" and m.resource is not None)


def meta(raw: Obj) -> Meta:
    """The metadata and status of a stored InferenceService, whatever its spec says."""
    metadata = raw.get("metadata") or {}
    return Meta(
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace", "")),
        uid=str(metadata.get("uid", "")),
        generation=int(metadata.get("generation") or 0),
        labels=dict(metadata.get("labels") or {}),
        annotations=dict(metadata.get("annotations") or {}),
        status=dict(raw.get("status") or {}),
    )


def parse(raw: Obj) -> Isvc:
    """The stored InferenceService, validated by the CRD's models; InvalidSpec naming the first
    field they refuse (the apiserver's CEL rules refuse the same at admission)."""
    try:
        typed = InferenceServiceSpec.model_validate(raw.get("spec") or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidSpec("InvalidPredictorSpec", f"spec.{where}: {first['msg']}") from err
    return Isvc(**vars(meta(raw)), spec=typed)


def components(isvc: Isvc) -> tuple[Component, ...]:
    """The predictor, then the transformer and explainer the InferenceService has."""
    return isvc.parts


def predictor(isvc: Isvc) -> Component:
    return isvc.parts[0]


def service_account_names(raw: Obj) -> set[str | None]:
    """The service accounts the components of a stored InferenceService run as (None: the
    namespace's default) and those of their loggers' storage; none when its spec cannot be
    read."""
    try:
        isvc = parse(raw)
    except InvalidSpec:
        return set()
    return {part.spec.service_account_name for part in isvc.parts} | {
        account for part in isvc.parts if (account := part.logger_storage_account)
    }


def _model(predictor: PredictorSpec) -> Model | None:
    # The models allow exactly one implementation, or custom containers (then None).
    found = predictor.implementation()
    if found is None:
        return None
    name, body = found
    if isinstance(body, ModelSpec):
        version = body.model_format.version
        protocol = body.protocol_version
        runtime = body.runtime
    else:
        version, runtime = None, None
        protocol = body.protocol_version or ("v2" if name in V2_BY_DEFAULT else None)
    return Model(
        format=name,
        version=version,
        runtime=runtime,
        protocol=protocol,
        storage_uri=body.storage_uri,
        runtime_version=body.runtime_version,
        # `storage: {}` says nothing: no storage spec, as if left out.
        storage=body.storage if body.storage is not None and body.storage.wire() else None,
        container=body.inline(),
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


def check_supported(isvc: Isvc, *, config: ControllerConfig) -> None:
    """NotSupported for what the CRD accepts but this controller does not implement."""
    mode = deployment_mode(isvc, config)
    if mode != "Standard":
        raise NotSupported(
            f"deployment mode {mode} is not supported; this controller runs Standard "
            f"(RawDeployment) only: set the annotation {MODE_ANNOTATION}: Standard"
        )
    worker = isvc.spec.predictor.worker_spec
    if worker is not None and worker.wire():  # `workerSpec: {}` asks for nothing
        raise NotSupported("spec.predictor.workerSpec (multi-node) is not supported")
    main = predictor(isvc)
    if main.storage_spec is not None:
        _check_storage_spec(main.storage_spec, storage_uri=main.storage_uri)
    explainer = isvc.spec.explainer
    if explainer is not None and explainer.art is not None:
        raise NotSupported(
            "spec.explainer.art (the ART explainer) is not supported yet; "
            "use a custom explainer: spec.explainer.containers"
        )
    for component in components(isvc):
        _check_component(component)


def _check_component(part: Component) -> None:
    where = f"spec.{part.kind}"
    spec = part.spec
    if spec.canary_traffic_percent is not None and part.kind != "predictor":
        raise NotSupported(f"{where}.canaryTrafficPercent is supported on the predictor only")
    if spec.canary_traffic_percent is not None and part.isvc.spec.canary:
        raise InvalidSpec(
            "InvalidPredictorSpec",
            "spec.predictor.canaryTrafficPercent and spec.canary both split the predictor's "
            "traffic: use one of them",
        )
    if spec.storage_uris:
        raise NotSupported(f"{where}.storageUris is not supported yet; use storageUri")
    logger = spec.logger
    if logger is not None and logger.storage is not None:
        fmt = (logger.storage.parameters or {}).get("format", "json")
        if fmt not in LOGGER_STORE_FORMATS:
            raise NotSupported(
                f"{where}.logger.storage.parameters.format {fmt!r} is not supported; "
                f"use one of {', '.join(LOGGER_STORE_FORMATS)}"
            )
    autoscaler = part.autoscaler_class
    if autoscaler not in AUTOSCALER_CLASSES:
        raise InvalidSpec(
            "InvalidAutoscalerClass",
            f"{AUTOSCALER_ANNOTATION}: {autoscaler!r} is not one of "
            f"{', '.join(AUTOSCALER_CLASSES)}",
        )
    idle = part.annotation(IDLE_ANNOTATION)
    if idle is not None and not idle.strip().isdigit():
        raise InvalidSpec(
            "InvalidIdleSeconds",
            f"{IDLE_ANNOTATION}: {idle!r} is not a whole number of seconds",
        )
    metric = spec.scale_metric
    if autoscaler == "keda" and metric is not None:
        raise InvalidSpec(
            "InvalidScaleMetric",
            f"{where}.scaleMetric is not supported with the keda autoscaler; "
            f"use {where}.autoScaling.metrics",
        )
    if autoscaler == "hpa" and metric not in (None, "cpu", "memory"):
        raise InvalidSpec(
            "InvalidScaleMetric",
            f"{where}.scaleMetric {metric!r} needs Knative; with an HPA use cpu or memory",
        )


def _check_storage_spec(storage: StorageSpec, *, storage_uri: str | None) -> None:
    """Upstream's validation: a storageUri beside it and a `type` parameter name a storage type."""
    where = "spec.predictor.model.storage"
    if storage_uri is not None and not storage_uri.startswith(STORAGE_SPEC_SCHEMES):
        raise InvalidSpec(
            "InvalidStorageUri",
            f"storageUri {storage_uri!r} cannot be used with {where}; use one of "
            f"{', '.join(STORAGE_SPEC_SCHEMES)} or {where}.path",
        )
    kind = (storage.parameters or {}).get("type")
    if kind is not None and kind not in STORAGE_SPEC_TYPES:
        raise InvalidSpec(
            "InvalidStorageConfig",
            f"{where}.parameters.type {kind!r} is not one of {', '.join(STORAGE_SPEC_TYPES)}",
        )
