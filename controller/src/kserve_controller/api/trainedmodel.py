"""TrainedModel (serving.kserve.io/v1alpha1): a model loaded into a multi-model isvc."""

from kserve_controller.api.base import KubeModel, ObjectMetaDict, Quantity
from kserve_controller.api.conditions import Condition
from kserve_controller.api.inferenceservice import Address

GROUP = "serving.kserve.io"
VERSION = "v1alpha1"
KIND = "TrainedModel"
PLURAL = "trainedmodels"


class ModelSpecTM(KubeModel):
    storage_uri: str
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
    api_version: str = f"{GROUP}/{VERSION}"
    kind: str = KIND
    metadata: ObjectMetaDict
    spec: TrainedModelSpec
    status: TrainedModelStatus | None = None
