"""protocol/v2.parse: the plain-request path without pydantic answers exactly as
`decode(validate(...))` does, values and errors alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kserve_server.errors import InvalidInput
from kserve_server.inference import InferRequest
from kserve_server.protocol import v2


def tensor(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1.5, 2.0]} | fields


REQUESTS: dict[str, Any] = {
    "plain": {"inputs": [tensor()]},
    "id, parameters, outputs": {
        "id": "r1",
        "parameters": {"binary_data_output": False, "n": 3, "f": 0.5, "s": "a", "z": None},
        "inputs": [tensor(parameters={"content_type": "np"})],
        "outputs": [{"name": "y", "parameters": {"binary_data": True}}, {"name": "z"}],
    },
    "extra keys are ignored": {"model_name": "m", "inputs": [tensor(extra=1)]},
    "several inputs": {"inputs": [tensor(), tensor(name="b", datatype="INT64", data=[1, 2])]},
    "nested data": {"inputs": [tensor(data=[[1.5, 2.0]])]},
    "BYTES": {"inputs": [tensor(datatype="BYTES", shape=[2], data=["a", "b"])]},
    "lone BYTES string": {"inputs": [tensor(datatype="BYTES", shape=[1], data="abc")]},
    "scalar shape": {"inputs": [tensor(shape=[], data=[3.0])]},
    # pydantic converts or refuses these: the validating path answers
    "shape of floats": {"inputs": [tensor(shape=[1.0, 2.0])]},
    "shape of strings": {"inputs": [tensor(shape=["1", "2"])]},
    "shape of booleans": {"inputs": [tensor(shape=[True, 2])]},
    "shape not a list": {"inputs": [tensor(shape=2)]},
    "empty name": {"inputs": [tensor(name="")]},
    "name not a string": {"inputs": [tensor(name=1)]},
    "datatype not a string": {"inputs": [tensor(datatype=32)]},
    "no datatype": {"inputs": [{"name": "x", "shape": [2], "data": [1, 2]}]},
    "no data": {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32"}]},
    "null data": {"inputs": [tensor(data=None)]},
    "no inputs": {"inputs": []},
    "inputs not a list": {"inputs": {"name": "x"}},
    "input not an object": {"inputs": ["x"]},
    "id not a string": {"id": 7, "inputs": [tensor()]},
    "nested parameter": {"parameters": {"a": {"b": 1}}, "inputs": [tensor()]},
    "input parameters a list": {"inputs": [tensor(parameters=[1])]},
    "output without name": {"inputs": [tensor()], "outputs": [{"parameters": {}}]},
    "outputs not a list": {"inputs": [tensor()], "outputs": {"name": "y"}},
    "body not an object": [tensor()],
    # decoding errors, after validation, in input order
    "wrong element count": {"inputs": [tensor(shape=[3])]},
    "unknown datatype": {"inputs": [tensor(datatype="FP99")]},
    "strings for FP32": {"inputs": [tensor(data=["a", "b"])]},
    "booleans for FP32": {"inputs": [tensor(data=[True, False])]},
    "negative dimension": {"inputs": [tensor(shape=[-1, 2])]},
    "bad first input, invalid second": {"inputs": [tensor(datatype="FP99"), tensor(shape="x")]},
}


def outcome(call: Any) -> Any:
    try:
        request: InferRequest = call()
    except InvalidInput as err:
        return ("error", str(err))
    return (
        "ok",
        request.id,
        request.parameters,
        [(o.name, o.parameters) for o in request.outputs or []] if request.outputs else None,
        [
            (t.name, t.datatype, t.shape, t.parameters, t.data.dtype, t.data.tolist())
            for t in request.inputs
        ],
    )


@pytest.mark.parametrize("raw", REQUESTS.values(), ids=REQUESTS.keys())
def test_parse_answers_as_the_validating_path(raw: Any) -> None:
    assert outcome(lambda: v2.parse(raw)) == outcome(lambda: v2.decode(v2.validate(raw)))


def test_the_plain_path_is_taken_for_a_plain_request() -> None:
    assert v2._plain(REQUESTS["plain"]) is not None
    assert v2._plain(REQUESTS["shape of floats"]) is None
    parsed = v2.parse(REQUESTS["plain"])
    assert parsed.inputs[0].data.dtype == np.float32
    assert parsed.inputs[0].data.shape == (1, 2)
