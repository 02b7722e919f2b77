"""The kinds the manager runs, each a small Controller on the engine."""

from __future__ import annotations

from kserve_controller.controllers.inferencegraph import InferenceGraphController
from kserve_controller.controllers.inferenceservice import InferenceServiceController
from kserve_controller.controllers.trainedmodel import TrainedModelController
from kserve_controller.engine import Controller

# In start order: a graph waits for the InferenceServices it names.
CONTROLLERS: list[type[Controller]] = [
    InferenceServiceController,
    InferenceGraphController,
    TrainedModelController,
]
