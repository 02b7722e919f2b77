"""Protocol-neutral requests and responses: what codecs produce and models consume.

V1 (`instances` → `predictions`) and V2 (named tensors) stay distinct types because a model sees
different things in each; both are plain data with numpy arrays, never JSON bytes or HTTP objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Parameters = dict[str, Any]


@dataclass
class PredictRequest:
    """A V1 request: the `instances` (or `inputs`) list as decoded from JSON."""

    instances: list[Any]
    parameters: Parameters = field(default_factory=dict)
    # TF Serving's REST API: the body's `inputs` value (columnar format, answered with
    # `outputs`) and `signature_name`; runtimes other than TensorFlow read `instances` only
    columnar: Any = None
    signature_name: str | None = None


@dataclass
class PredictResponse:
    """A V1 response: anything JSON-serialisable after numpy arrays become lists."""

    predictions: Any
    columnar: bool = False  # sent as `{"outputs": ...}` (TF Serving's columnar answer)
    batch_id: str | None = None  # the batcher's batch, sent as `batchId` (upstream's key)


@dataclass
class Tensor:
    """One named V2 tensor. BYTES tensors hold an object array of `str` (UTF-8) or `bytes`."""

    name: str
    datatype: str
    shape: list[int]
    data: np.ndarray[Any, Any]
    parameters: Parameters = field(default_factory=dict)


@dataclass
class RequestedOutput:
    """An entry of a V2 request's `outputs` list: which output, and whether it is sent binary."""

    name: str
    parameters: Parameters = field(default_factory=dict)


@dataclass
class InferRequest:
    """A V2 (Open Inference Protocol) request."""

    inputs: list[Tensor]
    id: str | None = None
    parameters: Parameters = field(default_factory=dict)
    outputs: list[RequestedOutput] | None = None


@dataclass
class InferResponse:
    """A V2 response; `id` and `model_name` are filled in by the data plane when left empty."""

    outputs: list[Tensor]
    model_name: str = ""
    model_version: str | None = None
    id: str | None = None
    parameters: Parameters | None = None


@dataclass(frozen=True)
class TensorSpec:
    """Model metadata entry: the name, datatype and shape (-1 = any) of an input or output."""

    name: str
    datatype: str
    shape: list[int]


@dataclass(frozen=True)
class ModelMetadata:
    platform: str = ""
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)


Request = PredictRequest | InferRequest
Response = PredictResponse | InferResponse
