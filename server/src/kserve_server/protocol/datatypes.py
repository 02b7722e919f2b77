"""Open Inference Protocol datatypes ↔ numpy: decoding JSON/binary tensor data, encoding outputs."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput

NUMPY: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
DATATYPES = tuple(NUMPY)
_BY_DTYPE = {dtype: name for name, dtype in NUMPY.items() if name != "BYTES"}
_LENGTH = struct.Struct("<I")  # BYTES elements are length-prefixed, little-endian
MAX_ELEMENTS = 1 << 40  # a shape claiming more than this is a client error, not an allocation


def element_count(shape: list[int], *, what: str) -> int:
    """The number of elements a shape holds; negative dims are a 400 naming the tensor."""
    if shape and min(shape) < 0:
        raise InvalidInput(f"{what}: shape {shape} has a negative dimension")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise InvalidInput(f"{what}: shape {shape} is too large")
    return count


def check_datatype(datatype: str, *, what: str) -> np.dtype[Any]:
    try:
        return NUMPY[datatype]
    except KeyError:
        known = ", ".join(DATATYPES)
        raise InvalidInput(
            f"{what}: unsupported datatype {datatype!r}; expected one of {known}"
        ) from None


def datatype_of(array: np.ndarray[Any, Any]) -> str:
    """The V2 datatype of a numpy array: strings, bytes, objects and datetimes are BYTES."""
    kind = array.dtype.kind
    if kind in "USOMm":
        return "BYTES"
    name = _BY_DTYPE.get(array.dtype)
    if name is not None:
        return name
    raise InvalidInput(f"cannot send numpy dtype {array.dtype} as a V2 tensor")


def from_json(data: Any, *, datatype: str, shape: list[int], what: str) -> np.ndarray[Any, Any]:
    """JSON `data` (flat or nested row-major) → an array of `shape`; a bare string is one BYTES."""
    dtype = NUMPY.get(datatype)
    if dtype is None:
        dtype = check_datatype(datatype, what=what)  # raises, naming the datatypes
    count = element_count(shape, what=what)
    if datatype == "BYTES":
        if isinstance(data, str):
            data = [data]  # kserve#2746: a lone string is a one-element BYTES tensor
        elif not isinstance(data, list):
            raise InvalidInput(f"{what}: 'data' must be a list, got {type(data).__name__}")
        flat = _flatten_bytes(data, what=what)
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
    elif not isinstance(data, list):
        raise InvalidInput(f"{what}: 'data' must be a list, got {type(data).__name__}")
    else:
        array = _numeric(data, dtype=dtype, datatype=datatype, what=what)
    if array.size != count:
        raise InvalidInput(
            f"{what}: shape {shape} needs {count} elements but 'data' has {array.size}"
        )
    return array.reshape(shape)


def _numeric(
    data: list[Any], *, dtype: np.dtype[Any], datatype: str, what: str
) -> np.ndarray[Any, Any]:
    """`data` as `dtype`, as nested as it came (from_json reshapes it)."""
    try:
        raw = np.asarray(data)
    except ValueError as exc:  # ragged nesting
        raise InvalidInput(f"{what}: 'data' is not a rectangular array: {exc}") from None
    kind = raw.dtype.kind
    if kind == "f" and dtype.kind == "f":  # floats for a float tensor, as most requests send
        return raw.astype(dtype, copy=False)  # (what the checks below come to for them)
    if raw.size and kind not in "biuf":
        raise InvalidInput(f"{what}: {datatype} data must be numbers, got {_sample(raw)}")
    if datatype == "BOOL":
        if raw.size and kind != "b":
            raise InvalidInput(f"{what}: BOOL data must be true/false, got {_sample(raw)}")
    elif kind == "b" and raw.size:
        raise InvalidInput(f"{what}: {datatype} data must be numbers, got booleans")
    elif dtype.kind in "iu" and kind == "f" and not _integral(raw):
        raise InvalidInput(f"{what}: {datatype} data must be integers, got {_sample(raw)}")
    try:
        if dtype.kind in "iu" and raw.size:
            info = np.iinfo(dtype)
            if raw.min() < info.min or raw.max() > info.max:
                raise InvalidInput(f"{what}: a value is out of range for {datatype}")
            if kind == "f":  # integers past int64 arrive as floats: convert the exact originals
                return np.asarray(data, dtype=dtype)
        return raw.astype(dtype, copy=False)
    except (ValueError, OverflowError, TypeError) as exc:
        raise InvalidInput(f"{what}: data does not fit {datatype}: {exc}") from None


def _integral(raw: np.ndarray[Any, Any]) -> bool:
    return bool(np.all(np.isfinite(raw)) and np.all(np.equal(np.mod(raw, 1), 0)))


def _flatten_bytes(data: list[Any], *, what: str) -> list[str | bytes]:
    flat: list[str | bytes] = []
    stack: list[Any] = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            if not isinstance(item, str | bytes):
                raise InvalidInput(
                    f"{what}: BYTES data must be strings, got {type(item).__name__} {item!r:.40}"
                )
            flat.append(item)
        else:
            stack.pop()
    return flat


def _sample(array: np.ndarray[Any, Any]) -> str:
    return repr(array.reshape(-1)[:3].tolist())[:80]


def to_json(array: np.ndarray[Any, Any]) -> list[Any]:
    """An output array → flat row-major JSON list (bytes decoded as UTF-8, other objects str())."""
    flat = array.reshape(-1)
    if array.dtype.kind in "OSU":
        return [_text(item) for item in flat.tolist()]
    if array.dtype.kind in "Mm":
        return [str(item) for item in flat]
    return flat.tolist()


def _text(item: Any) -> Any:
    if isinstance(item, bytes):
        try:
            return item.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                "a BYTES output is not UTF-8 text; request it with binary_data"
            ) from None
    if isinstance(item, str | int | float | bool) or item is None:
        return item
    return str(item)


def from_bytes(chunk: bytes, *, datatype: str, shape: list[int], what: str) -> np.ndarray[Any, Any]:
    dtype = check_datatype(datatype, what=what)
    count = element_count(shape, what=what)
    if datatype == "BYTES":
        items = _split_bytes(chunk, what=what)
        if len(items) != count:
            raise InvalidInput(f"{what}: shape {shape} needs {count} elements, got {len(items)}")
        array = np.empty(count, dtype=object)
        array[:] = items
        return array.reshape(shape)
    expected = count * dtype.itemsize
    if len(chunk) != expected:
        raise InvalidInput(
            f"{what}: shape {shape} of {datatype} needs {expected} bytes, got {len(chunk)}"
        )
    return np.frombuffer(chunk, dtype=dtype.newbyteorder("<")).reshape(shape)


def _split_bytes(chunk: bytes, *, what: str) -> list[str | bytes]:
    items: list[str | bytes] = []
    offset = 0
    while offset < len(chunk):
        if offset + 4 > len(chunk):
            raise InvalidInput(f"{what}: truncated BYTES element length")
        (size,) = _LENGTH.unpack_from(chunk, offset)
        offset += 4
        if offset + size > len(chunk):
            raise InvalidInput(f"{what}: a BYTES element runs past its binary data")
        raw = chunk[offset : offset + size]
        offset += size
        try:
            items.append(raw.decode("utf-8"))  # text models want str; non-UTF-8 stays bytes
        except UnicodeDecodeError:
            items.append(raw)
    return items


def to_bytes(array: np.ndarray[Any, Any]) -> bytes:
    if datatype_of(array) == "BYTES":
        parts = []
        for item in array.reshape(-1).tolist():
            raw = item if isinstance(item, bytes) else str(item).encode("utf-8")
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
