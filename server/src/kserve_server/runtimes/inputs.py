"""Decoded requests → what an estimator takes: a numpy array, a list of texts, or named columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput
from kserve_server.inference import InferRequest


@dataclass
class Columns:
    """Named columns of equal length, for models fitted on a DataFrame (`feature_names_in_`)."""

    data: dict[str, list[Any]]

    def to_frame(self, expected: list[str] | None, *, missing_as_nan: bool = False) -> Any:
        """A pandas DataFrame in the model's column order. A missing column is a 400 naming it,
        or all-NaN for boosters, which treat NaN as a missing value (as upstream does)."""
        import pandas as pd

        lengths = {len(values) for values in self.data.values()}
        if len(lengths) > 1:
            raise InvalidInput(f"columns have different lengths: {sorted(lengths)}")
        data: dict[str, Any] = dict(self.data)
        if expected is not None:
            missing = [name for name in expected if name not in data]
            if missing and not missing_as_nan:
                raise InvalidInput(
                    f"missing column(s) {missing}; the model expects columns {expected}"
                )
            rows = lengths.pop() if lengths else 1
            data.update({name: [None] * rows for name in missing})
        frame = pd.DataFrame(data)
        if missing_as_nan:  # a column of None only is object dtype; boosters want floats
            for name in frame.columns[frame.isna().all()]:
                frame[name] = frame[name].astype(float)
        return frame[expected] if expected is not None else frame


ModelInput = np.ndarray[Any, Any] | list[str] | Columns
ROWS_PER_STEP = 65_536  # rows converted per GIL hold: ~50 ms for four features


def from_instances(instances: list[Any]) -> ModelInput:
    """V1 `instances`: rows of numbers, texts (`"t"` or `["t"]`), or objects (named columns)."""
    if not instances:
        raise InvalidInput('"instances" is empty')
    first = instances[0]
    if isinstance(first, dict):
        return _records(instances)
    if all(isinstance(item, str) for item in instances):
        return list(instances)
    if all(
        isinstance(item, list) and len(item) == 1 and isinstance(item[0], str) for item in instances
    ):
        return [item[0] for item in instances]
    try:
        array = _array(instances)
    except ValueError as exc:
        raise InvalidInput(f'"instances" is not a rectangular array: {exc}') from None
    if array.dtype.kind == "U":  # numbers mixed with strings: keep each value's own type
        array = np.asarray(instances, dtype=object)
    return array


def _array(instances: list[Any]) -> np.ndarray[Any, Any]:
    """np.asarray, a slice of rows at a time into one array: converting nested lists holds the
    GIL throughout, and a million rows at once would stall the event loop (health checks) for
    a second; slices joined at the end would cost the array's memory twice."""
    if len(instances) <= ROWS_PER_STEP:
        return np.asarray(instances)
    first = np.asarray(instances[:ROWS_PER_STEP])
    if first.dtype.kind in "UO":
        return np.asarray(instances)  # strings or ragged rows: numpy's own answer, at once
    out = np.empty((len(instances), *first.shape[1:]), dtype=first.dtype)
    out[:ROWS_PER_STEP] = first
    for at in range(ROWS_PER_STEP, len(instances), ROWS_PER_STEP):
        part = np.asarray(instances[at : at + ROWS_PER_STEP])
        if part.shape[1:] != first.shape[1:] or part.dtype.kind in "UO":
            return np.asarray(instances)
        if not np.can_cast(part.dtype, out.dtype):  # ints so far, now floats: as one asarray
            out = out.astype(np.result_type(out.dtype, part.dtype))
        out[at : at + len(part)] = part
    return out


def _records(instances: list[Any]) -> Columns:
    """Row objects `{"age": 31}` or column objects `{"age": [31, 40]}`, concatenated."""
    columns: dict[str, list[Any]] = {}
    rows = 0
    for index, item in enumerate(instances):
        if not isinstance(item, dict):
            raise InvalidInput(f"instance {index} is not an object like instance 0")
        values = {key: value if isinstance(value, list) else [value] for key, value in item.items()}
        lengths = {len(value) for value in values.values()}
        if len(lengths) > 1:
            raise InvalidInput(f"instance {index}: its columns have different lengths")
        count = lengths.pop() if lengths else 0
        for key in values:
            if key not in columns:
                columns[key] = [None] * rows
        for key, column in columns.items():
            column.extend(values.get(key, [None] * count))
        rows += count
    return Columns(columns)


def from_tensors(request: InferRequest) -> ModelInput:
    """V2 inputs: one tensor → its array (BYTES → texts); several, or content_type pd → columns."""
    if request.parameters.get("content_type") == "pd" or len(request.inputs) > 1:
        return Columns({t.name: _column(t.name, t.data) for t in request.inputs})
    data = request.inputs[0].data
    if data.dtype.kind == "O" and (data.ndim == 1 or (data.ndim == 2 and data.shape[1] == 1)):
        return [_text(item) for item in data.reshape(-1).tolist()]
    return data


def _column(name: str, data: np.ndarray[Any, Any]) -> list[Any]:
    if data.ndim > 1 and not (data.ndim == 2 and data.shape[1] == 1):
        raise InvalidInput(f"input '{name}': a column must have shape [n] or [n, 1]")
    values = data.reshape(-1).tolist()
    return [_text(v) for v in values] if data.dtype.kind == "O" else values


def _text(item: Any) -> Any:
    return item.decode("utf-8", errors="replace") if isinstance(item, bytes) else item
