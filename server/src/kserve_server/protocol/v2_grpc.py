"""Open Inference Protocol (V2) over gRPC: protobuf messages ↔ the protocol-neutral types.

Typed `*_contents` come in as flat lists and are checked like REST JSON `data`;
`raw_input_contents` are decoded like the REST binary extension (the byte layout is the same).
A request that sent raw inputs gets raw outputs, as upstream KServe and Triton answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput
from kserve_server.inference import (
    InferRequest,
    InferResponse,
    ModelMetadata,
    Parameters,
    RequestedOutput,
    Tensor,
)
from kserve_server.protocol import datatypes, v2
from kserve_server.protocol import open_inference_pb2 as pb

# Which InferTensorContents field carries each datatype (FP16 has none: raw contents only).
CONTENTS: dict[str, str] = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
CONTENT_FIELDS = tuple(dict.fromkeys(CONTENTS.values()))


# parameters
def parameters_from(entries: Mapping[str, pb.InferParameter]) -> Parameters:
    out: Parameters = {}
    for key, value in entries.items():
        choice = value.WhichOneof("parameter_choice")
        out[key] = getattr(value, choice) if choice is not None else None
    return out


def parameter(value: Any) -> pb.InferParameter:
    """A Python value → InferParameter; bool before int (a bool is an int in Python)."""
    if isinstance(value, bool):
        return pb.InferParameter(bool_param=value)
    if isinstance(value, int):
        if value > np.iinfo(np.int64).max:
            return pb.InferParameter(uint64_param=value)
        return pb.InferParameter(int64_param=value)
    if isinstance(value, float):
        return pb.InferParameter(double_param=value)
    return pb.InferParameter(string_param=str(value))


def _set_parameters(target: Any, values: Parameters | None) -> None:
    for key, value in (values or {}).items():
        if value is not None:
            target[key].CopyFrom(parameter(value))


# requests
def decode(request: pb.ModelInferRequest) -> InferRequest:
    """ModelInferRequest → InferRequest; InvalidInput names the offending input."""
    if not request.inputs:
        raise InvalidInput("the request has no inputs")
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(
            f"raw_input_contents has {len(raw)} entries but the request has "
            f"{len(request.inputs)} inputs; send one per input, in input order"
        )
    tensors = []
    for index, item in enumerate(request.inputs):
        what = f"input '{item.name}'"
        if not item.name:
            raise InvalidInput(f"input #{index} has no name")
        shape = list(item.shape)
        if raw:
            if any(item.contents.ListFields()):
                raise InvalidInput(
                    f"{what}: contents and raw_input_contents are both set; use one of them"
                )
            data = datatypes.from_bytes(raw[index], datatype=item.datatype, shape=shape, what=what)
        else:
            data = _from_contents(item, shape=shape, what=what)
        tensors.append(
            Tensor(
                name=item.name,
                datatype=item.datatype,
                shape=shape,
                data=data,
                parameters=parameters_from(item.parameters),
            )
        )
    outputs = None
    if request.outputs:
        outputs = [RequestedOutput(o.name, parameters_from(o.parameters)) for o in request.outputs]
    return InferRequest(
        inputs=tensors,
        id=request.id or None,
        parameters=parameters_from(request.parameters),
        outputs=outputs,
    )


def _from_contents(
    item: pb.ModelInferRequest.InferInputTensor, *, shape: list[int], what: str
) -> np.ndarray[Any, Any]:
    datatypes.check_datatype(item.datatype, what=what)
    field = CONTENTS.get(item.datatype)
    present = [f.name for f, _ in item.contents.ListFields()]
    if field is None:  # FP16
        raise InvalidInput(
            f"{what}: {item.datatype} data must be sent in raw_input_contents "
            "(InferTensorContents has no field for it)"
        )
    if present and field not in present:
        raise InvalidInput(
            f"{what}: datatype {item.datatype} takes contents.{field}, got contents.{present[0]}"
        )
    values: Iterable[Any] = getattr(item.contents, field)
    if item.datatype == "BYTES":
        return datatypes.from_json(
            [_text(v) for v in values], datatype="BYTES", shape=shape, what=what
        )
    return datatypes.from_json(list(values), datatype=item.datatype, shape=shape, what=what)


def _text(value: bytes) -> str | bytes:
    """Text models want str, as over REST; bytes that are not UTF-8 stay bytes."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def wants_raw(request: pb.ModelInferRequest) -> bool:
    return len(request.raw_input_contents) > 0


# responses
def encode(response: InferResponse, request: InferRequest, *, raw: bool) -> pb.ModelInferResponse:
    """InferResponse → ModelInferResponse with the requested outputs (all if none named).

    Outputs go as raw_output_contents when the request sent raw inputs, or when an output is
    FP16 (no typed field for it; raw_output_contents then holds every output, index-aligned)."""
    selected = v2.select_outputs(response, request)
    raw = raw or any(_datatype(t) == "FP16" for t in selected)
    message = pb.ModelInferResponse(
        model_name=response.model_name,
        model_version=response.model_version or "",
        id=v2.response_id(response, request),
    )
    _set_parameters(message.parameters, response.parameters)
    for tensor in selected:
        datatype = _datatype(tensor)
        output = message.outputs.add(name=tensor.name, datatype=datatype, shape=tensor.data.shape)
        _set_parameters(output.parameters, tensor.parameters)
        if raw:
            message.raw_output_contents.append(datatypes.to_bytes(tensor.data))
        else:
            _fill_contents(output.contents, tensor.data, datatype=datatype)
    return message


def _datatype(tensor: Tensor) -> str:
    return tensor.datatype or datatypes.datatype_of(tensor.data)


def _fill_contents(contents: pb.InferTensorContents, array: Any, *, datatype: str) -> None:
    flat = np.asarray(array).reshape(-1)
    field = getattr(contents, CONTENTS[datatype])
    if datatype == "BYTES":
        field.extend(
            item if isinstance(item, bytes) else str(item).encode("utf-8") for item in flat.tolist()
        )
    else:
        field.extend(flat.tolist())


# metadata
def model_metadata(name: str, metadata: ModelMetadata) -> pb.ModelMetadataResponse:
    def spec(entry: Any) -> pb.ModelMetadataResponse.TensorMetadata:
        return pb.ModelMetadataResponse.TensorMetadata(
            name=entry.name, datatype=entry.datatype, shape=entry.shape
        )

    return pb.ModelMetadataResponse(
        name=name,
        platform=metadata.platform,
        inputs=[spec(e) for e in metadata.inputs],
        outputs=[spec(e) for e in metadata.outputs],
    )


def server_metadata(values: Mapping[str, Any]) -> pb.ServerMetadataResponse:
    return pb.ServerMetadataResponse(
        name=str(values["name"]),
        version=str(values["version"]),
        extensions=list(values.get("extensions", [])),
    )
