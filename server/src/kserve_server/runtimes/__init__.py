"""Framework runtimes, imported only when a model of that framework is created (fast start)."""

from __future__ import annotations

import importlib

from kserve_server.runtimes.base import ArrayModel, Model
from kserve_server.settings import ModelSpec

CLASSES = {
    "sklearn": ("kserve_server.runtimes.sklearn", "SKLearnModel"),
    "xgboost": ("kserve_server.runtimes.xgboost", "XGBoostModel"),
    "lightgbm": ("kserve_server.runtimes.lightgbm", "LightGBMModel"),
}
# frameworks whose models carry their own tensor names: a module with create(spec) -> Model
MODULES = {
    "onnx": "kserve_server.runtimes.onnx",
    "tensorflow": "kserve_server.runtimes.tensorflow",
    "triton": "kserve_server.runtimes.triton",
    "huggingface": "kserve_server.runtimes.huggingface",
    "pytorch": "kserve_server.runtimes.pytorch",
}


def runtime_class(framework: str) -> type[ArrayModel]:
    module_name, class_name = CLASSES[framework]
    cls: type[ArrayModel] = getattr(importlib.import_module(module_name), class_name)
    return cls


def create(spec: ModelSpec) -> Model:
    """The runtime for a spec's framework (its heavy library is imported later, by load())."""
    if spec.framework in MODULES:
        model: Model = importlib.import_module(MODULES[spec.framework]).create(spec)
        return model
    cls = runtime_class(spec.framework)
    return cls(spec.name, spec.model_dir, predict_proba=spec.predict_proba, nthread=spec.nthread)
