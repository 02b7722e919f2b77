"""What every InferenceService component (predictor, transformer, explainer) shares:
the inlined PodSpec and the ComponentExtensionSpec (replicas, autoscaling, logger, batcher ...).
"""

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from kserve_controller.api import k8s_fields
from kserve_controller.api.base import (
    Affinity,
    Cel,
    Container,
    DeploymentStrategy,
    HPABehavior,
    InlineKubeModel,
    KubeModel,
    LocalObjectReference,
    Nested,
    Quantity,
    Schema,
    Toleration,
    Volume,
)

ScaleMetric = Literal["cpu", "memory", "concurrency", "rps"]
MetricTargetType = Literal["Utilization", "Value", "AverageValue"]
LoggerMode = Literal["all", "request", "response"]

# CEL iterates these lists (PYTHONPATH ban), so the CRD bounds them; generous on purpose.
MAX_CONTAINERS = 32
MAX_ENV = 256
CONTAINERS_NO_PYTHONPATH = Cel(
    rule="self.all(c, !has(c.env) || c.env.all(e, e.name != 'PYTHONPATH'))",
    message="env: PYTHONPATH must not be set: it would replace the model server's own path",
)
# Containers and initContainers of a component's pod: bounded, and PYTHONPATH refused.
ContainerList = Annotated[
    list[Container],
    Field(max_length=MAX_CONTAINERS),
    Nested(("items", "properties", "env"), (("maxItems", MAX_ENV),)),
    CONTAINERS_NO_PYTHONPATH,
]


# A multi-node worker's container as far as admission reads it (name, env); its other fields
# are kept as given: multi-node serving is not run here, the object must only apply.
WorkerContainer = Annotated[
    dict[str, Any],
    Schema.of(
        properties={
            "name": {"type": "string"},
            "env": {
                "type": "array",
                "maxItems": MAX_ENV,
                "items": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"name": {"type": "string"}},
                },
            },
        }
    ),
]
WORKER_ENV = ("PIPELINE_PARALLEL_SIZE", "TENSOR_PARALLEL_SIZE")


class WorkerSpec(KubeModel):
    """Multi-node serving (not run here): the worker pod; checked as upstream's webhook does."""

    model_config = ConfigDict(extra="allow")
    pipeline_parallel_size: Annotated[int, Field(ge=1)] | None = None
    tensor_parallel_size: Annotated[int, Field(ge=1)] | None = None
    containers: (
        Annotated[list[WorkerContainer], Field(max_length=1), CONTAINERS_NO_PYTHONPATH] | None
    ) = None
    """At most one worker container."""
    init_containers: (
        Annotated[list[WorkerContainer], Field(max_length=MAX_CONTAINERS), CONTAINERS_NO_PYTHONPATH]
        | None
    ) = None


def no_worker_env(containers: str, *, main: str) -> Cel:
    """With a workerSpec the sizes come from it: the main container (`main`, a CEL condition
    on `c`, one of `containers`) must not set them in its env."""
    banned = " && ".join(f"e.name != '{name}'" for name in WORKER_ENV)
    return Cel(
        rule=f"!has(self.workerSpec) || {containers}.all(c, !({main}) || !has(c.env) || "
        f"c.env.all(e, {banned}))",
        message=f"env: {' and '.join(WORKER_ENV)} must not be set with a workerSpec: "
        "its pipelineParallelSize and tensorParallelSize say them",
    )


class MetricTarget(KubeModel):
    type: MetricTargetType | None = None
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


class ResourceMetricSource(KubeModel):
    name: Literal["cpu", "memory"]
    target: MetricTarget


class ExternalMetrics(KubeModel):
    backend: Literal["prometheus", "graphite", "opentelemetry"] | None = None
    server_address: str | None = None
    query: str | None = None
    namespace: str | None = None


class AuthenticationRef(KubeModel):
    name: str
    """Name of the KEDA TriggerAuthentication in the InferenceService's namespace."""


class ExtMetricAuthentication(KubeModel):
    authentication_ref: AuthenticationRef
    auth_modes: str | None = None
    """How the metrics backend authenticates: bearer, basic or tls (KEDA's authModes)."""


class ExternalMetricSource(KubeModel):
    metric: ExternalMetrics
    authentication: ExtMetricAuthentication | None = Field(default=None, alias="authenticationRef")
    """KEDA TriggerAuthentication for the metrics backend (keda autoscaler)."""
    target: MetricTarget


class PodMetrics(KubeModel):
    backend: Literal["opentelemetry"] | None = None
    server_address: str | None = None
    metric_names: list[str] | None = None
    query: str | None = None
    operation_over_time: str | None = None


class PodMetricSource(KubeModel):
    metric: PodMetrics
    target: MetricTarget


class MetricsSpec(KubeModel):
    """One autoscaling metric; HPA reads only `Resource`, KEDA the others."""

    # Upstream refuses these with the HPA or KEDA autoscaler; without its block a metric means
    # nothing to either, so they are refused whatever the autoscaler.
    cel_rules: ClassVar[tuple[Cel, ...]] = tuple(
        Cel(
            rule=f"self.type != '{kind}' || has(self.{block})",
            message=f"{block}: required for a metric of type {kind}",
            field_path=f".{block}",
        )
        for kind, block in (("Resource", "resource"), ("External", "external"),
                            ("PodMetric", "podmetric"))
    )  # fmt: skip

    type: Literal["Resource", "External", "PodMetric"]
    resource: ResourceMetricSource | None = None
    external: ExternalMetricSource | None = None
    podmetric: PodMetricSource | None = Field(default=None, alias="podmetric")


class AutoScalingSpec(KubeModel):
    metrics: list[MetricsSpec] | None = None
    behavior: HPABehavior | None = None


class LoggerStorageSpec(KubeModel):
    path: str | None = None
    parameters: dict[str, str] | None = None
    key: str | None = None
    service_account_name: str | None = None
    """Service account of the pods; its Secrets supply storage credentials."""


class LoggerSpec(KubeModel):
    """Request/response logging through the agent sidecar."""

    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="!has(self.storage) || (has(self.storage.path) && has(self.storage.parameters)"
            " && has(self.storage.key))",
            message="logger.storage: path, parameters and key are all required",
            field_path=".storage",
        ),
    )

    url: str | None = None
    mode: LoggerMode | None = None
    metadata_headers: list[str] | None = None
    metadata_annotations: list[str] | None = None
    storage: LoggerStorageSpec | None = None
    marshaller_url: str | None = None
    batch_size: int | None = None
    batch_interval: str | None = None


class Batcher(KubeModel):
    max_batch_size: int | None = None
    max_latency: int | None = None
    timeout: int | None = None
    """Seconds before a request to this component times out."""


class ComponentExtensionSpec(KubeModel):
    """Deployment settings of one component (ComponentExtensionSpec upstream)."""

    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="!has(self.minReplicas) || !has(self.maxReplicas) || self.maxReplicas == 0 "
            "|| self.minReplicas <= self.maxReplicas",
            message="minReplicas: must not be greater than maxReplicas",
            field_path=".minReplicas",
        ),
        Cel(
            rule="!has(self.scaleTarget) || (has(self.scaleMetric) && self.scaleMetric != 'cpu') "
            "|| self.scaleTarget <= 100",
            message="scaleTarget: a cpu target is a utilization percentage, 1 to 100",
            field_path=".scaleTarget",
        ),
    )

    min_replicas: Annotated[int, Field(ge=0)] | None = None
    """Fewest replicas (default 1; 0 allowed with autoscalerClass keda); with autoscalerClass
    none, the exact count (0 allowed)."""
    max_replicas: Annotated[int, Field(ge=0)] | None = None
    """Most replicas the autoscaler (HPA or KEDA ScaledObject) may scale to; 0 means unset."""
    scale_target: Annotated[int, Field(ge=1)] | None = None
    """Autoscaling target: average utilization in percent for cpu (default 80) or memory."""
    scale_metric: ScaleMetric | None = None
    """Metric the autoscaler watches: cpu (default) or memory; concurrency and rps need Knative."""
    scale_metric_type: MetricTargetType | None = None
    """Utilization, Value or AverageValue."""
    auto_scaling: AutoScalingSpec | None = None
    """Explicit autoscaling metrics (the hpa class reads Resource ones, keda every type) and
    behavior."""
    container_concurrency: Annotated[int, Field(ge=0)] | None = None
    """Requests a replica handles at once (a hard limit in Knative mode)."""
    timeout: Annotated[int, Field(ge=0)] | None = None
    canary_traffic_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    """Traffic percentage for the latest revision (Knative mode only; ignored in Standard)."""
    logger: LoggerSpec | None = None
    """Request/response logging through the agent sidecar."""
    batcher: Batcher | None = None
    """Server-side request batching through the agent sidecar."""
    labels: dict[str, str] | None = None
    """Labels added to this component's Deployment and pods."""
    annotations: dict[str, str] | None = None
    """Annotations added to this component's Deployment and pods."""
    deployment_strategy: DeploymentStrategy | None = None
    """How the Deployment replaces pods (Standard mode)."""

    # The same rules as `cel_rules`, for YAML that never reaches an apiserver (`make serve`).
    @model_validator(mode="after")
    def _replicas_and_target(self) -> Self:
        low, high = self.min_replicas, self.max_replicas
        if low is not None and high and low > high:
            raise ValueError("minReplicas: must not be greater than maxReplicas")
        cpu = self.scale_metric in (None, "cpu")
        if cpu and self.scale_target is not None and self.scale_target > 100:
            raise ValueError("scaleTarget: a cpu target is a utilization percentage, 1 to 100")
        return self


class PodSpecFields(InlineKubeModel):
    """The PodSpec fields a component inlines; the commonly used ones are typed here for the
    controller, the rest arrive as plain data in `model_extra` (all of them via `inline()`)."""

    inline_definition: ClassVar[str] = k8s_fields.POD_SPEC_DEFINITION
    inline_fields: ClassVar[frozenset[str]] = k8s_fields.POD_SPEC

    containers: ContainerList | None = None
    """Custom containers; without a model or framework they are the predictor (custom predictor)."""
    init_containers: ContainerList | None = None
    volumes: list[Volume] | None = None
    service_account_name: str | None = None
    node_selector: dict[str, str] | None = None
    tolerations: list[Toleration] | None = None
    affinity: Affinity | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None

    @model_validator(mode="after")
    def _no_pythonpath(self) -> Self:
        for container in (*(self.containers or []), *(self.init_containers or [])):
            if any(e.get("name") == "PYTHONPATH" for e in container.get("env") or []):
                raise ValueError(CONTAINERS_NO_PYTHONPATH.message)
        return self

    # Pod-level resources (a component's container resources live under e.g. `model`).
    resources: dict[str, Any] | None = None
    """Pod-level resources (a model's container resources are under model.resources)."""


class ComponentSpec(PodSpecFields, ComponentExtensionSpec):
    """A component: inlined PodSpec plus ComponentExtensionSpec."""

    # Pydantic merges base configs left to right; the inlined PodSpec needs "allow".
    model_config = ConfigDict(extra="allow")
