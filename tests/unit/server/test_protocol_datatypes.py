"""V2 datatypes ↔ numpy, JSON and binary, for every datatype."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kserve_server.errors import InvalidInput
from kserve_server.protocol import datatypes

SAMPLES: dict[str, list[Any]] = {
    "BOOL": [True, False, True, False],
    "INT8": [-128, 0, 1, 127],
    "INT16": [-32768, 0, 1, 32767],
    "INT32": [-(2**31), 0, 1, 2**31 - 1],
    "INT64": [-(2**63), 0, 1, 2**63 - 1],
    "UINT8": [0, 1, 2, 255],
    "UINT16": [0, 1, 2, 65535],
    "UINT32": [0, 1, 2, 2**32 - 1],
    "UINT64": [0, 1, 2, 2**64 - 1],
    "FP16": [0.5, -1.0, 2.0, 65504.0],
    "FP32": [0.5, -1.0, 2.25, 2.0**100],
    "FP64": [0.5, -1.0, 2.25, 1e300],
    "BYTES": ["a", "ünï", "", "text"],
}


@pytest.mark.parametrize("datatype", datatypes.DATATYPES)
def test_json_round_trip_every_datatype(datatype: str) -> None:
    values = SAMPLES[datatype]
    nested = [values[:2], values[2:]]
    array = datatypes.from_json(nested, datatype=datatype, shape=[2, 2], what="input 'x'")
    assert array.shape == (2, 2)
    assert datatypes.datatype_of(array) == datatype
    assert datatypes.to_json(array) == values


@pytest.mark.parametrize("datatype", datatypes.DATATYPES)
def test_binary_round_trip_every_datatype(datatype: str) -> None:
    array = datatypes.from_json(SAMPLES[datatype], datatype=datatype, shape=[4], what="x")
    raw = datatypes.to_bytes(array)
    back = datatypes.from_bytes(raw, datatype=datatype, shape=[4], what="x")
    assert datatypes.to_json(back) == SAMPLES[datatype]


def test_binary_layout_is_little_endian_and_length_prefixed() -> None:
    ints = datatypes.from_json([1, 2], datatype="INT32", shape=[2], what="x")
    assert datatypes.to_bytes(ints) == b"\x01\x00\x00\x00\x02\x00\x00\x00"
    texts = datatypes.from_json(["ab"], datatype="BYTES", shape=[1], what="x")
    assert datatypes.to_bytes(texts) == b"\x02\x00\x00\x00ab"


def test_strings_and_datetimes_are_bytes() -> None:
    assert datatypes.datatype_of(np.asarray(["greeting"])) == "BYTES"
    assert datatypes.datatype_of(np.asarray(["2024-01-01"], dtype="datetime64[D]")) == "BYTES"
    assert datatypes.to_json(np.asarray(["2024-01-01"], dtype="datetime64[D]")) == ["2024-01-01"]


@pytest.mark.parametrize(
    ("data", "datatype", "shape", "message"),
    [
        ([1, 2], "FP32", [3], "needs 3 elements"),
        ([[1, 2], [3]], "FP32", [3], "rectangular"),
        ([1, None], "FP32", [2], "must be numbers"),
        ([True, False], "INT8", [2], "got booleans"),
        ([-1], "UINT8", [1], "out of range"),
        ([1.5], "INT64", [1], "must be integers"),
        ([float("nan")], "INT64", [1], "must be integers"),
        ([1], "BYTES", [1], "must be strings"),
        ([1], "TEXT", [1], "unsupported datatype 'TEXT'"),
        ([1], "FP32", [2**41], "too large"),
    ],
)
def test_bad_json_data(data: list[Any], datatype: str, shape: list[int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        datatypes.from_json(data, datatype=datatype, shape=shape, what="input 'x'")


@pytest.mark.parametrize(
    ("raw", "datatype", "shape", "message"),
    [
        (b"\x00" * 7, "FP64", [1], "needs 8 bytes, got 7"),
        (b"\x05\x00\x00\x00ab", "BYTES", [1], "runs past"),
        (b"\x01\x00", "BYTES", [1], "truncated"),
        (b"\x01\x00\x00\x00a", "BYTES", [2], "needs 2 elements"),
    ],
)
def test_bad_binary_data(raw: bytes, datatype: str, shape: list[int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        datatypes.from_bytes(raw, datatype=datatype, shape=shape, what="x")
