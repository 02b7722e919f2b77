"""Binary tensor data extension (Triton-compatible): JSON header + raw little-endian tensors.

Request: `Inference-Header-Content-Length: N`; the first N bytes are JSON, then each input with
`parameters.binary_data_size` takes that many bytes, in input order. Response: outputs asked as
binary carry `parameters.binary_data_size` and their bytes follow the JSON.
"""

from __future__ import annotations

from typing import Any

import orjson

from kserve_server.errors import InvalidInput
from kserve_server.inference import InferRequest, InferResponse
from kserve_server.protocol import datatypes, v2

HEADER = "Inference-Header-Content-Length"


def split(body: bytes, header_length: str) -> tuple[v2.InferenceRequest, dict[str, bytes]]:
    """A binary request body → the typed JSON part and the raw bytes of each binary input."""
    try:
        length = int(header_length)
    except ValueError:
        raise InvalidInput(f"{HEADER} must be an integer, got {header_length!r:.40}") from None
    if not 0 < length <= len(body):
        raise InvalidInput(f"{HEADER} is {length} but the body has {len(body)} bytes")
    request = v2.validate(v2.loads(body[:length]))
    chunks: dict[str, bytes] = {}
    offset = length
    for item in request.inputs:
        size = (item.parameters or {}).get("binary_data_size")
        if size is None:
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(f"input '{item.name}': binary_data_size must be a count of bytes")
        if offset + size > len(body):
            raise InvalidInput(
                f"input '{item.name}': binary_data_size {size} runs past the end of the body"
            )
        chunks[item.name] = body[offset : offset + size]
        offset += size
    if offset != len(body):
        raise InvalidInput(f"{len(body) - offset} bytes after the last binary input")
    return request, chunks


def encode(
    response: InferResponse, request: InferRequest, *, binary: set[str]
) -> tuple[bytes, int]:
    """Response body and its JSON length; key order and omitted nulls as upstream KServe."""
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for tensor in v2.select_outputs(response, request):
        entry: dict[str, Any] = {
            "name": tensor.name,
            "shape": list(tensor.data.shape),
            "datatype": tensor.datatype or datatypes.datatype_of(tensor.data),
        }
        parameters = dict(tensor.parameters)
        if "*" in binary or tensor.name in binary:
            blob = datatypes.to_bytes(tensor.data)
            parameters["binary_data_size"] = len(blob)
            blobs.append(blob)
            entry["parameters"] = parameters
        else:
            if parameters:
                entry["parameters"] = parameters
            entry["data"] = datatypes.to_json(tensor.data)
        outputs.append(entry)
    body: dict[str, Any] = {
        "id": v2.response_id(response, request),
        "model_name": response.model_name,
        "model_version": response.model_version,
        "outputs": outputs,
    }
    if response.parameters:
        body["parameters"] = response.parameters
    header = orjson.dumps(body)
    return header + b"".join(blobs), len(header)
