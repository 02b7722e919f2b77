"""InferenceService (serving.kserve.io/v1beta1): spec, status, and the object itself."""

import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from kserve_controller.api.base import Cel, KubeModel, ObjectMetaDict
from kserve_controller.api.component import ComponentSpec
from kserve_controller.api.conditions import Condition
from kserve_controller.api.predictor import (
    FRAMEWORKS,
    PredictorExtensionSpec,
    PredictorSpec,
    StorageUris,
    storage_uris_exclusive,
)

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
KIND = "InferenceService"
PLURAL = "inferenceservices"


TRANSFORMER_CONTAINERS = Cel(
    rule="has(self.containers) && size(self.containers) > 0",
    message="containers: a transformer is custom containers; at least one is required",
    field_path=".containers",
)
EXPLAINER_ONE_OF = Cel(
    rule="has(self.art) != (has(self.containers) && size(self.containers) > 0)",
    message="exactly one of [art, containers] must be specified in explainer",
)


# A custom container's model location is its first container's STORAGE_URI (upstream's
# Custom*.GetStorageUri); it excludes storageUris as a storageUri does.
_FIRST_STORAGE_URI = (
    "(has(self.containers) && size(self.containers) > 0 && has(self.containers[0].env) && "
    "self.containers[0].env.exists(e, e.name == 'STORAGE_URI'))"
)


class TransformerSpec(ComponentSpec):
    """`spec.transformer`: custom containers that pre/post-process around the predictor."""

    cel_rules: ClassVar[tuple[Cel, ...]] = (
        *ComponentSpec.cel_rules,
        TRANSFORMER_CONTAINERS,
        storage_uris_exclusive(_FIRST_STORAGE_URI),
    )

    storage_uris: StorageUris | None = None

    @model_validator(mode="after")
    def _has_containers(self) -> Self:
        if not self.containers:
            raise ValueError(TRANSFORMER_CONTAINERS.message)
        return self


class ARTExplainerSpec(PredictorExtensionSpec):
    type: Literal["SquareAttack"]
    config: dict[str, str] | None = None


class ExplainerSpec(ComponentSpec):
    """`spec.explainer`: ART or custom containers."""

    cel_rules: ClassVar[tuple[Cel, ...]] = (
        *ComponentSpec.cel_rules,
        EXPLAINER_ONE_OF,
        storage_uris_exclusive(
            f"(has(self.art) && has(self.art.storageUri)) || {_FIRST_STORAGE_URI}"
        ),
    )

    art: ARTExplainerSpec | None = None
    storage_uris: StorageUris | None = None

    @model_validator(mode="after")
    def _one_explainer(self) -> Self:
        if (self.art is not None) == bool(self.containers):
            raise ValueError(EXPLAINER_ONE_OF.message)
        return self


class CanarySpec(KubeModel):
    """A canary predictor beside the stable one (Standard mode, upstream v0.20)."""

    # A canary runs a fixed number of replicas and no multi-node workers, as upstream.
    cel_rules: ClassVar[tuple[Cel, ...]] = (
        *(
            Cel(
                rule=f"!has(self.predictor.{field})",
                message=f"predictor.{field}: a canary must not set it ({why})",
                field_path=f".predictor.{field}",
            )
            for field, why in (
                ("workerSpec", "multi-node is not supported for canaries"),
                ("scaleTarget", "canaries use fixed replicas"),
                ("scaleMetric", "canaries use fixed replicas"),
                ("autoScaling", "canaries use fixed replicas"),
            )
        ),
        Cel(
            rule="!has(self.predictor.maxReplicas) || self.predictor.maxReplicas == 0",
            message="predictor.maxReplicas: a canary must not set it (canaries use fixed replicas)",
            field_path=".predictor.maxReplicas",
        ),
    )

    predictor: PredictorSpec
    traffic_percent: Annotated[int, Field(ge=0, le=100)]


def _stable_has_model() -> str:
    with_uri = " || ".join(
        f"(has(self.predictor.{name}) && has(self.predictor.{name}.storageUri))"
        for name in FRAMEWORKS
    )
    return f"has(self.predictor.model) || {with_uri}"


class InferenceServiceSpec(KubeModel):
    """What to serve and how."""

    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule=f"!has(self.canary) || size(self.canary) == 0 || {_stable_has_model()}",
            message="canary: requires a stable predictor with a model",
            field_path=".canary",
        ),
        Cel(
            rule="!has(self.canary) || !has(self.predictor.name) || self.canary.all(c, "
            "!has(c.predictor.name) || c.predictor.name != self.predictor.name)",
            message="canary: a canary's predictor.name must differ from the stable predictor's",
            field_path=".canary",
        ),
        Cel(
            rule="!has(self.canary) || self.canary.all(c, !has(c.predictor.minReplicas) || "
            "c.predictor.minReplicas <= (has(self.predictor.minReplicas) ? "
            "self.predictor.minReplicas : 1))",
            message="canary: a canary's predictor.minReplicas must not exceed the stable "
            "predictor's (default 1)",
            field_path=".canary",
        ),
    )

    predictor: PredictorSpec
    """The model server: a model (or framework shorthand), or custom containers."""
    transformer: TransformerSpec | None = None
    """Pre/post-processing in front of the predictor."""
    explainer: ExplainerSpec | None = None
    """Explanations for the predictor's predictions."""

    @model_validator(mode="after")
    def _canaries(self) -> Self:
        names = [c.predictor.name for c in self.canary or []]
        if not all(names):
            raise ValueError("canary: every canary needs predictor.name")
        if len(set(names)) != len(names):
            raise ValueError("canary: predictor names must be unique")
        if sum(c.traffic_percent for c in self.canary or []) > 100:
            raise ValueError("canary: trafficPercent must add up to at most 100")
        return self

    canary: (
        Annotated[
            list[CanarySpec],
            Field(max_length=8),
            Cel(
                rule="self.all(c, has(c.predictor.name))",
                message="canary: every canary needs predictor.name",
            ),
            Cel(
                rule="self.all(a, !has(a.predictor.name) || self.exists_one(b, "
                "has(b.predictor.name) && a.predictor.name == b.predictor.name))",
                message="canary: predictor names must be unique",
            ),
            Cel(
                rule="self.map(c, c.trafficPercent).sum() <= 100",
                message="canary: trafficPercent must add up to at most 100",
            ),
        ]
        | None
    ) = None
    """Canary predictors beside the stable one (upstream v0.20 Standard mode)."""


class Address(KubeModel):
    url: str | None = None
    name: str | None = None
    ca_certs: str | None = Field(default=None, alias="CACerts")
    audience: str | None = None


class TrafficTarget(KubeModel):
    tag: str | None = None
    revision_name: str | None = None
    configuration_name: str | None = None
    latest_revision: bool | None = None
    percent: int | None = None
    url: str | None = None


class ComponentStatusSpec(KubeModel):
    """Per-component status; Standard mode sets only `url` (and `address`)."""

    url: str | None = None
    rest_url: str | None = None
    grpc_url: str | None = None
    address: Address | None = None
    traffic: list[TrafficTarget] | None = None
    latest_ready_revision: str | None = None
    latest_created_revision: str | None = None
    previous_rolledout_revision: str | None = None
    latest_rolledout_revision: str | None = None


TransitionStatus = Literal["UpToDate", "InProgress", "BlockedByFailedLoad", "InvalidSpec"]
ModelState = Literal["Pending", "Standby", "Loading", "Loaded", "FailedToLoad"]
FailureReason = Literal[
    "ModelLoadFailed",
    "RuntimeUnhealthy",
    "RuntimeDisabled",
    "NoSupportingRuntime",
    "RuntimeNotRecognized",
    "InvalidPredictorSpec",
    "InvalidWorkerSpecNotSet",
    "InvalidGPUAllocation",
]


class ModelRevisionStates(KubeModel):
    active_model_state: ModelState | None = None
    target_model_state: ModelState | None = None


class FailureInfo(KubeModel):
    location: str | None = None
    reason: FailureReason | None = None
    message: str | None = None
    model_revision_name: str | None = None
    time: str | None = None
    exit_code: int | None = None


class ModelCopies(KubeModel):
    failed_copies: int = 0
    total_copies: int | None = None


class ModelStatus(KubeModel):
    transition_status: TransitionStatus = "UpToDate"
    states: ModelRevisionStates | None = None
    last_failure_info: FailureInfo | None = None
    copies: ModelCopies | None = None


class CanaryStatus(KubeModel):
    name: str | None = None
    ready: bool | None = None
    traffic_percent: int | None = None
    model_status: ModelStatus | None = None


class InferenceServiceStatus(KubeModel):
    """What the controller observed: readiness, URLs, model state."""

    observed_generation: int | None = None
    conditions: list[Condition] | None = None
    annotations: dict[str, str] | None = None
    url: str | None = None
    address: Address | None = None
    components: dict[str, ComponentStatusSpec] | None = None
    model_status: ModelStatus | None = None
    canary_statuses: list[CanaryStatus] | None = None
    deployment_mode: str | None = None
    serving_runtime_name: str | None = None
    cluster_serving_runtime_name: str | None = None


# Names of derived objects are "<name>-predictor" (Service: a DNS-1035 label, 63 characters)
# or "<name>-transformer"; CEL can read metadata.name, so the apiserver refuses long names.
NAME_RULES = (
    Cel(
        rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        message="metadata.name: an InferenceService name must consist of lower case "
        "alphanumeric characters or '-', and must start with an alphabetical character",
    ),
    Cel(
        rule="size(self.metadata.name) <= (has(self.spec.transformer) ? 51 : 53)",
        message="metadata.name: at most 53 characters (51 with a transformer), so that "
        "'<name>-predictor' and '<name>-transformer' fit a 63-character DNS label",
    ),
    Cel(
        rule="!has(self.spec.predictor.name) || "
        "size(self.metadata.name) + size(self.spec.predictor.name) <= 52",
        message="spec.predictor.name: '<metadata.name>-<predictor.name>-predictor' must fit "
        "a 63-character DNS label",
        field_path=".spec.predictor.name",
    ),
)


class InferenceService(KubeModel):
    """The whole object as stored (`status` may be absent on a new one)."""

    cel_rules: ClassVar[tuple[Cel, ...]] = NAME_RULES

    api_version: str = f"{GROUP}/{VERSION}"
    kind: str = KIND
    metadata: ObjectMetaDict
    spec: InferenceServiceSpec
    status: InferenceServiceStatus | None = None

    @model_validator(mode="after")
    def _name_fits(self) -> Self:
        name = str(self.metadata.get("name", ""))
        if not re.match(r"^[a-z]([-a-z0-9]*[a-z0-9])?$", name):
            raise ValueError(NAME_RULES[0].message)
        if len(name) > (51 if self.spec.transformer else 53):
            raise ValueError(NAME_RULES[1].message)
        pred = self.spec.predictor.name
        if pred and len(name) + len(pred) > 52:
            raise ValueError(NAME_RULES[2].message)
        return self

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", "default"))

    @property
    def annotations(self) -> dict[str, Any]:
        return dict(self.metadata.get("annotations") or {})
