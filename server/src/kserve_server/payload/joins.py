"""How decoded V1 and V2 requests are joined into one batch and their answer split back.

V1: `instances` lists are concatenated; the answer's `predictions` must have one item per
instance. V2: requests with the same inputs (names, datatypes, shape past the first dimension)
are concatenated along the first dimension; every output must have the batch's first dimension.
Anything else is not batched (parameters, TF Serving's columnar `inputs`, a signature name).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from kserve_server.inference import InferRequest, InferResponse, PredictRequest, PredictResponse
from kserve_server.payload.batcher import BatchMismatchError, Join


class V1Join(Join[PredictRequest, PredictResponse]):
    @staticmethod
    def batchable(request: PredictRequest) -> bool:
        return (
            not request.parameters
            and request.columnar is None
            and request.signature_name is None
            and bool(request.instances)
        )

    def size(self, request: PredictRequest) -> int:
        return len(request.instances)

    def combine(self, requests: list[PredictRequest]) -> PredictRequest:
        return PredictRequest(instances=[item for r in requests for item in r.instances])

    def split(self, response: PredictResponse, sizes: list[int]) -> list[PredictResponse]:
        return [
            PredictResponse(predictions=part)
            for part in slices(response.predictions, sizes, what="predictions")
        ]


def slices(items: Any, sizes: list[int], *, what: str) -> list[Any]:
    """`items` (a list or an array) cut into consecutive runs of `sizes`."""
    try:
        total = len(items)
    except TypeError:
        raise BatchMismatchError(f"{what} is not a list") from None
    if total != sum(sizes) or isinstance(items, dict | str | bytes):
        raise BatchMismatchError(f"{total} {what} for a batch of {sum(sizes)}")
    out, start = [], 0
    for size in sizes:
        out.append(items[start : start + size])
        start += size
    return out


class V2Join(Join[InferRequest, InferResponse]):
    @staticmethod
    def key(request: InferRequest) -> Hashable | None:
        """Requests with equal keys can share a batch; None: this one cannot be batched."""
        if request.parameters or not request.inputs:
            return None
        if any(t.parameters or not t.shape for t in request.inputs):
            return None
        first = {t.shape[0] for t in request.inputs}
        if len(first) != 1 or 0 in first:
            return None
        outputs = None
        if request.outputs is not None:
            if any(o.parameters for o in request.outputs):
                return None
            outputs = tuple(o.name for o in request.outputs)
        inputs = tuple((t.name, t.datatype, tuple(t.shape[1:])) for t in request.inputs)
        return (inputs, outputs)

    def size(self, request: InferRequest) -> int:
        return request.inputs[0].shape[0]

    def combine(self, requests: list[InferRequest]) -> InferRequest:
        first = requests[0]
        inputs = []
        for index, tensor in enumerate(first.inputs):
            parts = [
                np.asarray(r.inputs[index].data).reshape(r.inputs[index].shape) for r in requests
            ]
            data = np.concatenate(parts, axis=0)
            inputs.append(
                type(tensor)(
                    name=tensor.name, datatype=tensor.datatype, shape=list(data.shape), data=data
                )
            )
        return InferRequest(inputs=inputs, outputs=first.outputs)

    def split(self, response: InferResponse, sizes: list[int]) -> list[InferResponse]:
        per_output = []
        for tensor in response.outputs:
            data = np.asarray(tensor.data).reshape(tensor.shape)
            per_output.append(slices(data, sizes, what=f"rows of output {tensor.name}"))
        answers = []
        for index in range(len(sizes)):
            outputs = [
                type(tensor)(
                    name=tensor.name,
                    datatype=tensor.datatype,
                    shape=list(parts[index].shape),
                    data=parts[index],
                    parameters=dict(tensor.parameters),
                )
                for tensor, parts in zip(response.outputs, per_output, strict=True)
            ]
            answers.append(
                InferResponse(
                    outputs=outputs,
                    model_name=response.model_name,
                    model_version=response.model_version,
                    parameters=response.parameters,
                )
            )
        return answers
