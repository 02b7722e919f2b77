"""protocol/v2_grpc.py: every datatype via its typed contents field, raw contents, parameters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kserve_server.errors import InvalidInput
from kserve_server.inference import InferRequest, InferResponse, RequestedOutput, Tensor
from kserve_server.protocol import open_inference_pb2 as pb
from kserve_server.protocol import v2_grpc

VALUES: dict[str, list[Any]] = {
    "BOOL": [True, False],
    "INT8": [-128, 127],
    "INT16": [-32768, 32767],
    "INT32": [-(2**31), 2**31 - 1],
    "INT64": [-(2**63), 2**63 - 1],
    "UINT8": [0, 255],
    "UINT16": [0, 65535],
    "UINT32": [0, 2**32 - 1],
    "UINT64": [0, 2**64 - 1],
    "FP32": [0.5, -1.25],
    "FP64": [1e300, -2.5],
    "BYTES": [b"caf\xc3\xa9", b"\xff\xfe"],
}


def one_input(datatype: str, values: list[Any], *, shape: list[int] | None = None) -> Any:
    request = pb.ModelInferRequest(model_name="m")
    tensor = request.inputs.add(name="x", datatype=datatype, shape=shape or [len(values)])
    getattr(tensor.contents, v2_grpc.CONTENTS[datatype]).extend(values)
    return request


@pytest.mark.parametrize("datatype", sorted(VALUES))
def test_every_datatype_decodes_from_its_contents_field(datatype: str) -> None:
    decoded = v2_grpc.decode(one_input(datatype, VALUES[datatype]))
    [tensor] = decoded.inputs
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", datatype, [2])
    if datatype == "BYTES":  # UTF-8 becomes str for text models; other bytes stay bytes
        assert tensor.data.tolist() == ["café", b"\xff\xfe"]
    else:
        assert tensor.data.dtype == np.dtype(datatype.lower().replace("fp", "float"))
        assert tensor.data.tolist() == VALUES[datatype]


@pytest.mark.parametrize("datatype", sorted(VALUES))
def test_every_datatype_encodes_to_contents_and_raw(datatype: str) -> None:
    values = VALUES[datatype]
    dtype = object if datatype == "BYTES" else datatype.lower().replace("fp", "float")
    array = np.empty(2, dtype=object) if datatype == "BYTES" else np.asarray(values, dtype=dtype)
    if datatype == "BYTES":
        array[:] = values
    response = InferResponse(outputs=[Tensor("y", datatype, [2], array)], model_name="m")
    request = InferRequest(inputs=[])
    typed = v2_grpc.encode(response, request, raw=False)
    assert list(getattr(typed.outputs[0].contents, v2_grpc.CONTENTS[datatype])) == values
    raw = v2_grpc.encode(response, request, raw=True)
    back = pb.ModelInferRequest(model_name="m", raw_input_contents=raw.raw_output_contents)
    back.inputs.add(name="y", datatype=datatype, shape=[2])
    assert v2_grpc.decode(back).inputs[0].data.tolist() == (
        ["café", b"\xff\xfe"] if datatype == "BYTES" else values
    )


def test_fp16_is_raw_only_both_ways() -> None:
    request = pb.ModelInferRequest(model_name="m")
    request.inputs.add(name="h", datatype="FP16", shape=[2])
    request.raw_input_contents.append(np.asarray([1.5, -2], dtype="<f2").tobytes())
    decoded = v2_grpc.decode(request)
    assert decoded.inputs[0].data.tolist() == [1.5, -2.0]
    response = InferResponse(
        outputs=[
            Tensor("h", "FP16", [2], decoded.inputs[0].data),
            Tensor("n", "", [1], np.asarray([3], dtype=np.int64)),
        ]
    )
    # no typed field for FP16: every output goes raw, index-aligned
    encoded = v2_grpc.encode(response, decoded, raw=False)
    assert [o.datatype for o in encoded.outputs] == ["FP16", "INT64"]
    assert encoded.raw_output_contents[1] == np.int64(3).tobytes()


@pytest.mark.parametrize(
    ("datatype", "values", "message"),
    [
        ("INT8", [128], "a value is out of range for INT8"),
        ("UINT8", [256], "a value is out of range for UINT8"),
        ("BYTES", [], "shape [1] needs 1 elements but 'data' has 0"),
    ],
)
def test_values_that_do_not_fit_are_invalid_input(
    datatype: str, values: list[Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        v2_grpc.decode(one_input(datatype, values, shape=[1]))


def test_requests_need_inputs_with_names() -> None:
    with pytest.raises(InvalidInput, match="the request has no inputs"):
        v2_grpc.decode(pb.ModelInferRequest(model_name="m"))
    request = one_input("INT32", [1])
    request.inputs[0].name = ""
    with pytest.raises(InvalidInput, match="input #0 has no name"):
        v2_grpc.decode(request)


def test_parameters_both_ways() -> None:
    request = one_input("INT32", [1])
    request.parameters["a"].bool_param = False
    request.parameters["b"].int64_param = -2
    request.parameters["c"].string_param = "s"
    request.parameters["d"].double_param = 0.25
    request.parameters["e"].uint64_param = 2**64 - 1
    request.outputs.add(name="y").parameters["binary_data"].bool_param = True
    decoded = v2_grpc.decode(request)
    assert decoded.parameters == {"a": False, "b": -2, "c": "s", "d": 0.25, "e": 2**64 - 1}
    assert decoded.outputs == [RequestedOutput("y", {"binary_data": True})]
    kinds = {
        key: v2_grpc.parameter(value).WhichOneof("parameter_choice")
        for key, value in decoded.parameters.items()
    }
    assert kinds == {
        "a": "bool_param",
        "b": "int64_param",
        "c": "string_param",
        "d": "double_param",
        "e": "uint64_param",
    }
