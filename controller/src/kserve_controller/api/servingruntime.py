"""ServingRuntime and ClusterServingRuntime (serving.kserve.io/v1alpha1): which server image
serves which model formats, and how its pod looks."""

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from kserve_controller.api.base import (
    PRESERVE,
    Affinity,
    Cel,
    EnvVar,
    KubeModel,
    LocalObjectReference,
    ObjectMetaDict,
    PodResourceClaim,
    Toleration,
    Volume,
)
from kserve_controller.api.component import ContainerList, WorkerSpec, no_worker_env
from kserve_controller.api.predictor import ProtocolVersion

GROUP = "serving.kserve.io"
VERSION = "v1alpha1"
KIND: Literal["ServingRuntime"] = "ServingRuntime"
CLUSTER_KIND: Literal["ClusterServingRuntime"] = "ClusterServingRuntime"
PLURAL = "servingruntimes"
CLUSTER_PLURAL = "clusterservingruntimes"


class SupportedModelFormat(KubeModel):
    name: Annotated[str, Field(min_length=1, max_length=63)]
    version: str | None = None
    auto_select: bool | None = None
    priority: Annotated[int, Field(ge=1)] | None = None


class StorageHelper(KubeModel):
    disabled: bool | None = None


class BuiltInAdapter(KubeModel):
    """ModelMesh only."""

    server_type: Literal["triton", "mlserver", "ovms"] | None = None
    runtime_management_port: int | None = None
    mem_buffer_bytes: int | None = None
    model_loading_timeout_millis: int | None = None
    env: list[EnvVar] | None = None


class ServingRuntimeSpec(KubeModel):
    """Shared by both kinds."""

    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="(has(self.multiModel) && self.multiModel) || "
            "self.containers.exists(c, c.name == 'kserve-container')",
            message="containers: one container must be named kserve-container",
            field_path=".containers",
        ),
        Cel(
            rule="!has(self.supportedModelFormats) || self.supportedModelFormats.all(a, "
            "self.supportedModelFormats.all(b, !(has(a.autoSelect) && a.autoSelect && "
            "has(b.autoSelect) && b.autoSelect && a.name == b.name && has(a.priority) && "
            "has(b.priority)) || a.priority == b.priority))",
            message="supportedModelFormats: different priorities assigned for the same "
            "auto-selected model format",
            field_path=".supportedModelFormats",
        ),
        no_worker_env("self.containers", main="c.name == 'kserve-container'"),
    )

    supported_model_formats: Annotated[list[SupportedModelFormat], Field(max_length=64)] | None = (
        None
    )
    protocol_versions: list[ProtocolVersion] | None = None
    multi_model: bool | None = None
    disabled: bool | None = None
    containers: Annotated[ContainerList, Field(min_length=1)]
    volumes: list[Volume] | None = None
    node_selector: dict[str, str] | None = None
    affinity: Affinity | None = None
    tolerations: list[Toleration] | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    scheduler_name: str | None = None
    host_ipc: bool | None = Field(default=None, alias="hostIPC")
    resource_claims: list[PodResourceClaim] | None = None
    worker_spec: Annotated[WorkerSpec, PRESERVE] | None = None
    grpc_endpoint: str | None = None
    grpc_data_endpoint: str | None = None
    http_data_endpoint: str | None = None
    replicas: Annotated[int, Field(ge=0)] | None = None
    storage_helper: StorageHelper | None = None
    built_in_adapter: BuiltInAdapter | None = None

    @model_validator(mode="after")
    def _runtime_rules(self) -> Self:
        if not self.multi_model and self.container("kserve-container") is None:
            raise ValueError(self.cel_rules[0].message)
        priorities: dict[str, set[int | None]] = {}
        for fmt in self.supported_model_formats or []:
            if fmt.auto_select and fmt.priority is not None:
                priorities.setdefault(fmt.name, set()).add(fmt.priority)
        if any(len(p) > 1 for p in priorities.values()):
            raise ValueError(self.cel_rules[1].message)
        return self

    def container(self, name: str) -> dict[str, Any] | None:
        """The runtime's container called `name` (e.g. kserve-container), if any."""
        return next((c for c in self.containers if c.get("name") == name), None)


class ServingRuntimeStatus(KubeModel):
    pass


class ServingRuntime(KubeModel):
    """Either kind: `kind` says which (ClusterServingRuntime has no namespace)."""

    api_version: str = f"{GROUP}/{VERSION}"
    kind: Literal["ServingRuntime", "ClusterServingRuntime"] = KIND
    metadata: ObjectMetaDict
    spec: ServingRuntimeSpec
    status: ServingRuntimeStatus | None = None

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def is_cluster_scoped(self) -> bool:
        return self.kind == CLUSTER_KIND


# Alias for readers looking for the cluster kind by name; the model is the same.
ClusterServingRuntime = ServingRuntime
