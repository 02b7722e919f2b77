"""KServe V1 (TF-Serving style): `{"instances": [...]}` in, `{"predictions": [...]}` out."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from kserve_server.errors import InvalidInput
from kserve_server.inference import PredictRequest, PredictResponse
from kserve_server.protocol import json_slices

_DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def decode(body: bytes) -> PredictRequest:
    """A V1 body → PredictRequest. `inputs` is accepted like `instances`, as upstream does."""
    try:
        raw = json_slices.loads(body)  # a large body: the event loop runs between slices
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"Unrecognized request format: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f'Expected a JSON object with "instances", got {type(raw).__name__}')
    key = "inputs" if "inputs" in raw else "instances"
    if key not in raw:
        raise InvalidInput('Missing "instances" (or "inputs") in the request body')
    instances = raw[key]
    columnar = instances if key == "inputs" else None
    if not isinstance(instances, list):
        if columnar is None:
            raise InvalidInput(f'Expected "{key}" to be a list')
        instances = []  # TF Serving's columnar object: only the TensorFlow runtime reads it
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput('Expected "parameters" to be an object')
    signature = raw.get("signature_name")
    if signature is not None and not isinstance(signature, str):
        raise InvalidInput('Expected "signature_name" to be a string')
    return PredictRequest(
        instances=instances, parameters=parameters, columnar=columnar, signature_name=signature
    )


def encode(response: PredictResponse) -> bytes:
    """Compact JSON; numpy arrays and scalars become plain JSON."""
    key = "outputs" if response.columnar else "predictions"
    body: dict[str, Any] = {key: response.predictions}
    if response.batch_id is not None:
        body["batchId"] = response.batch_id
    try:
        return orjson.dumps(body, option=_DUMPS_OPTIONS)
    except TypeError:
        body[key] = plain(response.predictions)
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def plain(value: Any) -> Any:
    """Whatever orjson cannot serialise natively (object/str arrays, numpy scalars) → lists."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
