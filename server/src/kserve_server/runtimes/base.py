"""The model API: what every served model implements, built-in runtimes and custom models alike.

Subclass `Model` for a custom model: override `load` (blocking, run in a worker thread before the
model is ready), `predict`, and optionally `preprocess`, `postprocess`, `explain`, `metadata`.
Each hook is a plain (sync) method; the data plane decides whether it runs on the event loop or
in a thread. `ArrayModel` is the base of the framework runtimes: it turns V1/V2 requests into a
numpy array, a list of strings or named columns, and the estimator's output back into a response.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import (
    InferResponse,
    ModelMetadata,
    PredictRequest,
    PredictResponse,
    Request,
    Response,
    Tensor,
)
from kserve_server.runtimes import inputs

log = logging.getLogger(__name__)


class Model:
    """A served model. `name` is the name in URLs."""

    platform = ""

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self) -> None:
        """Blocking: read files, build the estimator. An exception marks the model failed."""

    def unload(self) -> None:
        """Release what load() took; the model may be loaded again later."""

    def preprocess(self, request: Request) -> Request:
        return request

    @abstractmethod
    def predict(self, request: Request) -> Response:
        """V1 PredictRequest → PredictResponse; V2 InferRequest → InferResponse."""

    def postprocess(self, response: Response) -> Response:
        return response

    def explain(self, request: Request) -> Response:
        raise NotImplementedError(f"Model {self.name} has no explainer.")

    def metadata(self) -> ModelMetadata:
        return ModelMetadata(platform=self.platform)

    def v1_status(self) -> dict[str, Any] | None:
        """`GET /v1/models/{name}` of a ready model: None for KServe's `{"name", "ready"}`; the
        TensorFlow runtime answers TF Serving's model status instead."""
        return None


class ArrayModel(Model):
    """A framework runtime: one model file in `model_dir`, an estimator with a predict call."""

    suffixes: tuple[str, ...] = ()
    framework = ""

    def __init__(
        self, name: str, model_dir: Path, *, predict_proba: bool = False, nthread: int = 1
    ) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.predict_proba = predict_proba
        self.nthread = nthread

    @abstractmethod
    def run(self, x: inputs.ModelInput) -> np.ndarray[Any, Any]:
        """The estimator call; ValueError, TypeError, KeyError ... mean a bad input (400)."""

    def predict(self, request: Request) -> Response:
        if isinstance(request, PredictRequest):
            return PredictResponse(predictions=self._run(inputs.from_instances(request.instances)))
        return InferResponse(outputs=[self._output(self._run(inputs.from_tensors(request)))])

    def _run(self, x: inputs.ModelInput) -> np.ndarray[Any, Any]:
        try:
            return np.asarray(self.run(x))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            # the estimator rejected the data it was given: a client error, not a crash
            raise InvalidInput(f"{type(exc).__name__}: {exc}".replace("KeyError: ", "")) from exc

    @staticmethod
    def _output(y: np.ndarray[Any, Any]) -> Tensor:
        # datatype left empty: the V2 codec derives it from the array's dtype
        return Tensor(name="output-0", datatype="", shape=list(y.shape), data=y)

    def model_file(self) -> Path:
        return find_model_file(self.model_dir, suffixes=self.suffixes, framework=self.framework)


def find_model_file(model_dir: Path, *, suffixes: tuple[str, ...], framework: str) -> Path:
    """The single model file in `model_dir` (top level first, then one nested level)."""
    if model_dir.is_file() and model_dir.suffix in suffixes:
        return model_dir
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist")
    patterns = ", ".join(f"*{suffix}" for suffix in suffixes)
    found = _files(model_dir, suffixes)
    if not found:
        nested = [f for d in sorted(model_dir.iterdir()) if d.is_dir() for f in _files(d, suffixes)]
        if len(nested) == 1:
            log.info("model %s: using %s (found one level down)", framework, nested[0])
            return nested[0]
        listing = sorted(p.name for p in model_dir.iterdir())[:10]
        raise ModelLoadError(
            f"no {framework} model file ({patterns}) in {model_dir}; it contains {listing}"
        )
    if len(found) > 1:
        names = [p.name for p in found]
        raise ModelLoadError(
            f"More than one model file is detected in {model_dir}: {names}; keep exactly one"
        )
    return found[0]


def _files(directory: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in suffixes and p.is_file())
