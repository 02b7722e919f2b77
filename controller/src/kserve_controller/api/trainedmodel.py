"""TrainedModel (serving.kserve.io/v1alpha1): a model loaded into a multi-model isvc."""

from typing import Annotated, ClassVar

from kserve_controller.api.base import Cel, KubeModel, ObjectMetaDict, Quantity
from kserve_controller.api.conditions import Condition
from kserve_controller.api.inferenceservice import Address

GROUP = "serving.kserve.io"
VERSION = "v1alpha1"
KIND = "TrainedModel"
PLURAL = "trainedmodels"


# The schemes upstream's TrainedModel webhook accepts (its agent's downloaders); no local paths.
TM_SCHEMES = ("gs", "s3", "abfs", "https", "http")
TM_URI = Cel(
    rule="self.matches('^(" + "|".join(TM_SCHEMES) + ")://')",
    message="storageUri: must start with one of " + ", ".join(f"{s}://" for s in TM_SCHEMES),
)


class ModelSpecTM(KubeModel):
    storage_uri: Annotated[str, TM_URI]
    framework: str
    memory: Quantity


class TrainedModelSpec(KubeModel):
    inference_service: str
    model: ModelSpecTM


class TrainedModelStatus(KubeModel):
    observed_generation: int | None = None
    conditions: list[Condition] | None = None
    annotations: dict[str, str] | None = None
    url: str | None = None
    address: Address | None = None


class TrainedModel(KubeModel):
    cel_rules: ClassVar[tuple[Cel, ...]] = (
        Cel(
            rule="self.metadata.name.matches('^[a-zA-Z0-9_-]+$')",
            message="metadata.name: a TrainedModel name must consist of alphanumeric "
            "characters, '_' or '-'",
        ),
    )

    api_version: str = f"{GROUP}/{VERSION}"
    kind: str = KIND
    metadata: ObjectMetaDict
    spec: TrainedModelSpec
    status: TrainedModelStatus | None = None
