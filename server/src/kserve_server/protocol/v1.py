"""KServe V1 (TF-Serving style): `{"instances": [...]}` in, `{"predictions": [...]}` out."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from kserve_server.errors import InvalidInput
from kserve_server.inference import PredictRequest, PredictResponse

_DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def decode(body: bytes) -> PredictRequest:
    """A V1 body → PredictRequest. `inputs` is accepted like `instances`, as upstream does."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"Unrecognized request format: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f'Expected a JSON object with "instances", got {type(raw).__name__}')
    key = "inputs" if "inputs" in raw else "instances"
    if key not in raw:
        raise InvalidInput('Missing "instances" (or "inputs") in the request body')
    instances = raw[key]
    if not isinstance(instances, list):
        raise InvalidInput(f'Expected "{key}" to be a list')
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput('Expected "parameters" to be an object')
    return PredictRequest(instances=instances, parameters=parameters)


def encode(response: PredictResponse) -> bytes:
    """Compact JSON; numpy arrays and scalars become plain JSON."""
    try:
        return orjson.dumps({"predictions": response.predictions}, option=_DUMPS_OPTIONS)
    except TypeError:
        return orjson.dumps(
            {"predictions": plain(response.predictions)}, option=orjson.OPT_NON_STR_KEYS
        )


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
