"""ClusterStorageContainer (serving.kserve.io/v1alpha1): which initializer container
downloads which URIs."""

from typing import ClassVar, Literal

from kserve_controller.api.base import Cel, Container, KubeModel, ObjectMetaDict

GROUP = "serving.kserve.io"
VERSION = "v1alpha1"
KIND = "ClusterStorageContainer"
PLURAL = "clusterstoragecontainers"


class SupportedUriFormat(KubeModel):
    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="has(self.prefix) != has(self.regex)",
            message="supportedUriFormats: exactly one of prefix, regex",
        ),
    )

    prefix: str | None = None
    regex: str | None = None


class StorageContainerSpec(KubeModel):
    container: Container
    supported_uri_formats: list[SupportedUriFormat]
    workload_type: Literal["initContainer", "localModelDownloadJob"] | None = None
    supports_multi_model_download: bool | None = None


class ClusterStorageContainer(KubeModel):
    api_version: str = f"{GROUP}/{VERSION}"
    kind: str = KIND
    metadata: ObjectMetaDict
    spec: StorageContainerSpec
    disabled: bool | None = None
