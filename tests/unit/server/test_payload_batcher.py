"""The batcher: flush by size and by latency, answers sliced back per request, and a failed
batch run again request by request so only the bad one fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from typing import Any

import numpy as np
import pytest

from kserve_server.inference import InferRequest, InferResponse, PredictRequest, Tensor
from kserve_server.payload.batcher import Batcher
from kserve_server.payload.joins import V1Join, V2Join
from kserve_server.payload_settings import BatcherSettings


class Model:
    """Doubles each instance; an instance "bad" fails the whole call it is in."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[Any]] = []
        self.delay = delay

    async def __call__(self, key: Hashable, request: PredictRequest) -> Any:
        from kserve_server.inference import PredictResponse

        self.calls.append(list(request.instances))
        await asyncio.sleep(self.delay)
        if "bad" in request.instances:
            raise ValueError("bad instance")
        return PredictResponse(predictions=[x * 2 for x in request.instances])


def _batcher(model: Model, *, size: int, latency_ms: int) -> Batcher[Any, Any]:
    settings = BatcherSettings(max_batch_size=size, max_latency_ms=latency_ms)
    return Batcher(settings, join=V1Join(), call=model)


async def test_a_full_batch_goes_at_once() -> None:
    model = Model()
    batcher = _batcher(model, size=4, latency_ms=10_000)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(batcher.submit("m", PredictRequest(instances=[i])) for i in range(4))
    )
    assert time.monotonic() - started < 1.0  # not the 10 s latency
    assert model.calls == [[0, 1, 2, 3]]
    assert [a.predictions for a, _ in answers] == [[0], [2], [4], [6]]
    assert len({batch_id for _, batch_id in answers}) == 1


async def test_a_partial_batch_goes_after_the_latency() -> None:
    model = Model()
    batcher = _batcher(model, size=100, latency_ms=200)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(batcher.submit("m", PredictRequest(instances=[i])) for i in range(3))
    )
    waited = time.monotonic() - started
    assert 0.19 <= waited < 2.0
    assert model.calls == [[0, 1, 2]]
    assert [a.predictions for a, _ in answers] == [[0], [2], [4]]


async def test_predictions_are_sliced_by_each_requests_instances() -> None:
    model = Model()
    batcher = _batcher(model, size=6, latency_ms=10_000)
    sizes = [1, 2, 3]
    starts = [0, 10, 20]
    answers = await asyncio.gather(
        *(
            batcher.submit("m", PredictRequest(instances=list(range(s, s + n))))
            for s, n in zip(starts, sizes, strict=True)
        )
    )
    assert model.calls == [[0, 10, 11, 20, 21, 22]]
    assert [a.predictions for a, _ in answers] == [[0], [20, 22], [40, 42, 44]]


async def test_only_the_bad_request_of_a_failed_batch_fails() -> None:
    model = Model()
    batcher = _batcher(model, size=3, latency_ms=10_000)
    results = await asyncio.gather(
        batcher.submit("m", PredictRequest(instances=[1])),
        batcher.submit("m", PredictRequest(instances=["bad"])),
        batcher.submit("m", PredictRequest(instances=[3])),
        return_exceptions=True,
    )
    assert results[0][0].predictions == [2]  # type: ignore[index]
    assert isinstance(results[1], ValueError)
    assert results[2][0].predictions == [6]  # type: ignore[index]
    assert model.calls[0] == [1, "bad", 3]  # the batch first, then each alone
    assert sorted(map(str, model.calls[1:])) == ["['bad']", "[1]", "[3]"]
    assert batcher.stats.retried_alone == 3


async def test_an_answer_of_the_wrong_length_is_retried_alone() -> None:
    from kserve_server.inference import PredictResponse

    calls: list[int] = []

    async def summing(key: Hashable, request: PredictRequest) -> PredictResponse:
        calls.append(len(request.instances))
        return PredictResponse(predictions=[sum(request.instances)])  # one answer per call

    settings = BatcherSettings(max_batch_size=2, max_latency_ms=10_000)
    batcher: Batcher[Any, Any] = Batcher(settings, join=V1Join(), call=summing)
    (a, _), (b, _) = await asyncio.gather(
        batcher.submit("m", PredictRequest(instances=[1])),
        batcher.submit("m", PredictRequest(instances=[2])),
    )
    assert (a.predictions, b.predictions) == ([1], [2])
    assert calls == [2, 1, 1]


async def test_different_keys_never_share_a_batch() -> None:
    model = Model()
    batcher = _batcher(model, size=2, latency_ms=100)
    await asyncio.gather(
        batcher.submit("a", PredictRequest(instances=[1])),
        batcher.submit("b", PredictRequest(instances=[2])),
    )
    assert sorted(model.calls) == [[1], [2]]


def _v2(rows: list[list[float]], *, name: str = "x") -> InferRequest:
    data = np.asarray(rows, dtype=np.float32)
    return InferRequest(inputs=[Tensor(name, "FP32", list(data.shape), data)])


async def test_v2_requests_join_on_the_first_dimension() -> None:
    seen: list[list[int]] = []

    async def identity(key: Hashable, request: InferRequest) -> InferResponse:
        tensor = request.inputs[0]
        seen.append(tensor.shape)
        out = Tensor("y", "FP32", tensor.shape, tensor.data * 10)
        return InferResponse(outputs=[out], model_name="m")

    join = V2Join()
    first, second = _v2([[1, 2]]), _v2([[3, 4], [5, 6]])
    assert join.key(first) == join.key(second) is not None
    settings = BatcherSettings(max_batch_size=3, max_latency_ms=10_000)
    batcher: Batcher[Any, Any] = Batcher(settings, join=join, call=identity)
    (a, _), (b, _) = await asyncio.gather(
        batcher.submit(join.key(first), first), batcher.submit(join.key(second), second)
    )
    assert seen == [[3, 2]]
    assert a.outputs[0].shape == [1, 2] and a.outputs[0].data.tolist() == [[10, 20]]
    assert b.outputs[0].shape == [2, 2] and b.outputs[0].data.tolist() == [[30, 40], [50, 60]]


@pytest.mark.parametrize(
    "request_",
    [
        InferRequest(inputs=[], parameters={}),
        InferRequest(
            inputs=[Tensor("x", "FP32", [1, 2], np.zeros((1, 2), np.float32))],
            parameters={"p": 1},
        ),
        InferRequest(inputs=[Tensor("x", "FP32", [], np.zeros((), np.float32))]),
    ],
    ids=["no-inputs", "parameters", "scalar"],
)
def test_v2_requests_that_cannot_share_a_batch_have_no_key(request_: InferRequest) -> None:
    assert V2Join.key(request_) is None


def test_v2_requests_of_other_widths_do_not_share_a_key() -> None:
    assert V2Join.key(_v2([[1, 2]])) != V2Join.key(_v2([[1, 2, 3]]))
