"""Open Inference Protocol (V2) REST JSON: request validation, decoding, response encoding.

The pydantic models double as the OpenAPI schemas. `data` is validated by datatypes.py, not
pydantic, so a large tensor is converted once, straight into numpy.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError

from kserve_server import ids
from kserve_server.errors import InvalidInput
from kserve_server.inference import InferRequest, InferResponse, RequestedOutput, Tensor
from kserve_server.protocol import datatypes

ParameterValue = StrictBool | StrictInt | StrictFloat | StrictStr | None


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    shape: list[int] = Field(description="dimensions; their product is the element count")
    datatype: str = Field(json_schema_extra={"enum": list(datatypes.DATATYPES)})
    parameters: dict[str, ParameterValue] | None = None
    data: Any = Field(
        default=None,
        description="row-major values, flat or nested; absent when sent as binary data",
        json_schema_extra={"type": "array"},
    )


class RequestOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    parameters: dict[str, ParameterValue] | None = None


class InferenceRequest(BaseModel):
    """The JSON part of a V2 inference request."""

    model_config = ConfigDict(extra="ignore")  # clients add fields: the kserve SDK's model_name

    id: str | None = None
    parameters: dict[str, ParameterValue] | None = None
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, ParameterValue] | None = None
    data: list[Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str
    parameters: dict[str, ParameterValue] | None = None
    outputs: list[ResponseOutput]


def loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"Unrecognized request format: {exc}") from None


def validate(raw: Any) -> InferenceRequest:
    """Parsed JSON → the typed request; errors name the offending field."""
    try:
        return InferenceRequest.model_validate(raw)
    except PydanticValidationError as exc:
        raise InvalidInput(describe(exc)) from None


def parse(raw: Any) -> InferRequest:
    """Parsed JSON → the protocol-neutral request: `decode(validate(raw))`, with the plain
    request most clients send taken without pydantic (a few µs of a small request)."""
    plain = _plain(raw)
    return plain if plain is not None else decode(validate(raw))


_PLAIN_VALUES = (bool, int, float, str, type(None))  # ParameterValue's types, taken as they are


def _plain_parameters(raw: Any) -> bool:
    return raw is None or (
        type(raw) is dict and all(type(v) in _PLAIN_VALUES for v in raw.values())
    )


def _ints(values: list[Any]) -> bool:
    for value in values:  # noqa: SIM110 (all() with a generator costs more on a few dims)
        if type(value) is not int:
            return False
    return True


def _plain(raw: Any) -> InferRequest | None:
    """`decode(validate(raw))` for a request whose every field pydantic would take unchanged
    (exact types); None for anything else, which then takes pydantic's path and its errors.
    Checks every field before decoding any tensor, so errors come in the same order."""
    if type(raw) is not dict:
        return None
    request_id, inputs, outputs = raw.get("id"), raw.get("inputs"), raw.get("outputs")
    parameters = raw.get("parameters")
    if not (
        (request_id is None or type(request_id) is str)
        and type(inputs) is list
        and inputs
        and (parameters is None or _plain_parameters(parameters))
        and (outputs is None or type(outputs) is list)
    ):
        return None
    for item in inputs:
        if not (
            type(item) is dict
            and type(item.get("name")) is str
            and item["name"]
            and type(item.get("datatype")) is str
            and type(item.get("shape")) is list
            and _ints(item["shape"])
            and item.get("data") is not None  # missing: decode's error, after validation
            and ((p := item.get("parameters")) is None or _plain_parameters(p))
        ):
            return None
    for wanted in outputs or ():
        if not (
            type(wanted) is dict
            and type(wanted.get("name")) is str
            and wanted["name"]
            and _plain_parameters(wanted.get("parameters"))
        ):
            return None
    tensors = []
    for item in inputs:
        name, datatype, shape = item["name"], item["datatype"], item["shape"]
        data = datatypes.from_json(
            item["data"], datatype=datatype, shape=shape, what=f"input '{name}'"
        )
        tensors.append(Tensor(name, datatype, shape, data, item.get("parameters") or {}))
    requested = None
    if outputs is not None:
        requested = [RequestedOutput(o["name"], o.get("parameters") or {}) for o in outputs]
    return InferRequest(tensors, request_id, parameters or {}, requested)


def describe(exc: PydanticValidationError) -> str:
    """A pydantic error as one line: `inputs.0.shape: Input should be a valid list; ...`."""
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "invalid inference request: " + "; ".join(parts)


def decode(request: InferenceRequest, *, binary: dict[str, bytes] | None = None) -> InferRequest:
    """Typed request (+ binary chunks by input name) → the protocol-neutral InferRequest."""
    binary = binary or {}
    tensors = []
    for item in request.inputs:
        what = f"input '{item.name}'"
        if item.name in binary:
            data = datatypes.from_bytes(
                binary[item.name], datatype=item.datatype, shape=item.shape, what=what
            )
        elif item.data is None:
            raise InvalidInput(f"'data' field is missing for {what}")
        else:
            data = datatypes.from_json(
                item.data, datatype=item.datatype, shape=item.shape, what=what
            )
        tensors.append(
            Tensor(
                name=item.name,
                datatype=item.datatype,
                shape=list(item.shape),
                data=data,
                parameters=dict(item.parameters or {}),
            )
        )
    outputs = None
    if request.outputs is not None:
        outputs = [RequestedOutput(o.name, dict(o.parameters or {})) for o in request.outputs]
    return InferRequest(
        inputs=tensors, id=request.id, parameters=dict(request.parameters or {}), outputs=outputs
    )


def select_outputs(response: InferResponse, request: InferRequest) -> list[Tensor]:
    """The outputs to send: those requested, in request order, else all."""
    if request.outputs is None:
        return response.outputs
    by_name = {output.name: output for output in response.outputs}
    selected = []
    for wanted in request.outputs:
        if wanted.name not in by_name:
            raise InvalidInput(
                f"Unexpected inference output '{wanted.name}' for model '{response.model_name}'"
            )
        selected.append(by_name[wanted.name])
    return selected


def binary_outputs(request: InferRequest) -> set[str]:
    """Names of outputs the client asked to get as binary data (Triton binary extension)."""
    if request.outputs is not None:
        return {o.name for o in request.outputs if o.parameters.get("binary_data") is True}
    if request.parameters.get("binary_data_output") is True:
        return {"*"}
    return set()


def response_id(response: InferResponse, request: InferRequest) -> str:
    return response.id or request.id or ids.new_id()


def encode(response: InferResponse, request: InferRequest) -> bytes:
    """The all-JSON response; key order and explicit nulls as upstream KServe sends them.
    (A loop, and select_outputs/response_id inlined for the usual request: each call is a
    measurable share of a small request.)"""
    outputs = []
    for tensor in (
        response.outputs if request.outputs is None else select_outputs(response, request)
    ):
        data = tensor.data
        outputs.append(
            {
                "name": tensor.name,
                "shape": list(data.shape),
                "datatype": tensor.datatype or datatypes.datatype_of(data),
                "parameters": tensor.parameters or None,
                "data": datatypes.to_json(data),
            }
        )
    body = {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "id": response.id or request.id or ids.new_id(),
        "parameters": response.parameters or None,
        "outputs": outputs,
    }
    return orjson.dumps(body)
