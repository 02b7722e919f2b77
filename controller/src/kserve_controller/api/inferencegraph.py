"""InferenceGraph (serving.kserve.io/v1alpha1): a router over InferenceServices."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from kserve_controller.api.base import Affinity, Cel, KubeModel, ObjectMetaDict, Toleration
from kserve_controller.api.base import ResourceRequirements as Resources
from kserve_controller.api.component import ScaleMetric
from kserve_controller.api.conditions import Condition

GROUP = "serving.kserve.io"
VERSION = "v1alpha1"
KIND = "InferenceGraph"
PLURAL = "inferencegraphs"


class InferenceStep(KubeModel):
    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="[has(self.nodeName), has(self.serviceName), has(self.serviceUrl)]"
            ".filter(x, x).size() == 1",
            message="steps: exactly one of nodeName, serviceName, serviceUrl per step",
        ),
    )

    name: Annotated[str, Field(max_length=63)] | None = None
    node_name: Annotated[str, Field(max_length=253)] | None = None
    service_name: Annotated[str, Field(max_length=253)] | None = None
    service_url: Annotated[str, Field(max_length=2048)] | None = Field(
        default=None, alias="serviceUrl"
    )
    data: str | None = None
    map_predictions_to_instances: bool | None = None
    weight: Annotated[int, Field(ge=0, le=100)] | None = None
    condition: str | None = None
    dependency: Literal["Soft", "Hard"] | None = None


class InferenceRouter(KubeModel):
    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="self.routerType != 'Splitter' || (has(self.steps) && "
            "self.steps.all(s, has(s.weight)) && self.steps.map(s, s.weight).sum() == 100)",
            message="steps: a Splitter's step weights must be set and add up to 100",
            field_path=".steps",
        ),
        Cel(
            rule="!has(self.steps) || self.steps.all(a, !has(a.name) || "
            "self.steps.exists_one(b, has(b.name) && b.name == a.name))",
            message="steps: step names must be unique within a node",
            field_path=".steps",
        ),
    )

    router_type: Literal["Sequence", "Splitter", "Ensemble", "Switch"]
    steps: Annotated[list[InferenceStep], Field(max_length=32)] | None = None


class RouterTimeouts(KubeModel):
    server_read: int | None = None
    server_write: int | None = None
    server_idle: int | None = None
    service_client: int | None = None


class InferenceGraphSpec(KubeModel):
    nodes: Annotated[
        dict[str, InferenceRouter],
        Field(max_length=64),
        Cel(rule="'root' in self", message="nodes: a node named root is required"),
    ]
    resources: Resources | None = None
    affinity: Affinity | None = None
    timeout: int | None = None
    router_timeouts: RouterTimeouts | None = None
    min_replicas: Annotated[int, Field(ge=0)] | None = None
    max_replicas: Annotated[int, Field(ge=0)] | None = None
    scale_target: int | None = None
    scale_metric: ScaleMetric | None = None
    tolerations: list[Toleration] | None = None
    node_selector: dict[str, str] | None = None
    node_name: str | None = None
    service_account_name: str | None = None


class InferenceGraphStatus(KubeModel):
    observed_generation: int | None = None
    conditions: list[Condition] | None = None
    annotations: dict[str, str] | None = None
    url: str | None = None
    deployment_mode: str | None = None


class InferenceGraph(KubeModel):
    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
            message="metadata.name: an InferenceGraph name must consist of lower case "
            "alphanumeric characters or '-', and must start with an alphabetical character",
        ),
    )

    api_version: str = f"{GROUP}/{VERSION}"
    kind: str = KIND
    metadata: ObjectMetaDict
    spec: InferenceGraphSpec
    status: InferenceGraphStatus | None = None
