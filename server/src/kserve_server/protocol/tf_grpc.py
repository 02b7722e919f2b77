"""TF Serving's gRPC messages ↔ protocol-neutral requests: TensorProto ↔ numpy, Predict and
GetModelMetadata (see server/proto/tf_serving.proto for why our own generated subset)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kserve_server.errors import InvalidInput
from kserve_server.inference import InferRequest, InferResponse, ModelMetadata, RequestedOutput
from kserve_server.inference import Tensor as NeutralTensor
from kserve_server.protocol import tf_serving_pb2 as pb

PREDICT_METHOD = "tensorflow/serving/predict"
SIGNATURE_DEF_MAP_URL = "type.googleapis.com/tensorflow.serving.SignatureDefMap"
# DataType → (numpy dtype, the repeated field that holds values when tensor_content is empty)
DTYPES: dict[int, tuple[Any, str]] = {
    pb.DT_FLOAT: (np.float32, "float_val"),
    pb.DT_DOUBLE: (np.float64, "double_val"),
    pb.DT_HALF: (np.float16, "half_val"),
    pb.DT_INT8: (np.int8, "int_val"),
    pb.DT_INT16: (np.int16, "int_val"),
    pb.DT_INT32: (np.int32, "int_val"),
    pb.DT_INT64: (np.int64, "int64_val"),
    pb.DT_UINT8: (np.uint8, "int_val"),
    pb.DT_UINT16: (np.uint16, "int_val"),
    pb.DT_UINT32: (np.uint32, "uint32_val"),
    pb.DT_UINT64: (np.uint64, "uint64_val"),
    pb.DT_BOOL: (np.bool_, "bool_val"),
    pb.DT_STRING: (object, "string_val"),
}
_BY_NUMPY = {np.dtype(d): code for code, (d, _) in DTYPES.items() if d is not object}
# V2 datatype names → DataType (model metadata)
DATATYPES = {
    "FP32": pb.DT_FLOAT,
    "FP64": pb.DT_DOUBLE,
    "FP16": pb.DT_HALF,
    "INT8": pb.DT_INT8,
    "INT16": pb.DT_INT16,
    "INT32": pb.DT_INT32,
    "INT64": pb.DT_INT64,
    "UINT8": pb.DT_UINT8,
    "UINT16": pb.DT_UINT16,
    "UINT32": pb.DT_UINT32,
    "UINT64": pb.DT_UINT64,
    "BOOL": pb.DT_BOOL,
    "BYTES": pb.DT_STRING,
}


def to_array(tensor: pb.TensorProto, *, name: str) -> np.ndarray[Any, Any]:
    """A TensorProto's values: tensor_content, or the typed repeated field (one value fills)."""
    entry = DTYPES.get(tensor.dtype)
    if entry is None:
        raise InvalidInput(f"input '{name}': unsupported dtype {pb.DataType.Name(tensor.dtype)}")
    dtype, field = entry
    shape = [d.size for d in tensor.tensor_shape.dim]
    if any(d < 0 for d in shape):
        raise InvalidInput(f"input '{name}': shape {shape} has a negative dimension")
    count = math.prod(shape)
    if tensor.tensor_content and dtype is not object:
        raw = np.frombuffer(tensor.tensor_content, dtype=np.dtype(dtype).newbyteorder("<"))
    else:
        values = list(getattr(tensor, field))
        if tensor.dtype == pb.DT_HALF:
            raw = np.asarray(values, dtype=np.uint16).view(np.float16)
        elif dtype is object:
            raw = np.empty(len(values), dtype=object)
            raw[:] = values
        else:
            raw = np.asarray(values, dtype=dtype)
        if raw.size == 1 and count != 1:  # TF fills a tensor from one value
            raw = np.full(count, raw[0], dtype=raw.dtype)
    if raw.size != count:
        raise InvalidInput(f"input '{name}': shape {shape} needs {count} values, got {raw.size}")
    return raw.reshape(shape)


def from_array(array: np.ndarray[Any, Any]) -> pb.TensorProto:
    out = pb.TensorProto()
    out.tensor_shape.dim.extend(pb.TensorShapeProto.Dim(size=d) for d in array.shape)
    if array.dtype.kind in "OSU":
        out.dtype = pb.DT_STRING
        out.string_val.extend(
            v if isinstance(v, bytes) else str(v).encode("utf-8")
            for v in array.reshape(-1).tolist()
        )
        return out
    code = _BY_NUMPY.get(array.dtype)
    if code is None:
        raise InvalidInput(f"cannot send numpy dtype {array.dtype} as a TensorProto")
    out.dtype = code  # type: ignore[assignment]  # an enum value is an int
    out.tensor_content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return out


def decode_predict(request: pb.PredictRequest) -> InferRequest:
    inputs = [
        NeutralTensor(name=name, datatype="", shape=list(array.shape), data=array)
        for name, tensor in request.inputs.items()
        for array in [to_array(tensor, name=name)]
    ]
    if not inputs:
        raise InvalidInput("the PredictRequest has no inputs")
    parameters: dict[str, Any] = {}
    if request.model_spec.signature_name:
        parameters["signature_name"] = request.model_spec.signature_name
    outputs = [RequestedOutput(name) for name in request.output_filter] or None
    return InferRequest(inputs=inputs, parameters=parameters, outputs=outputs)


def encode_predict(response: InferResponse, request: pb.PredictRequest) -> pb.PredictResponse:
    out = pb.PredictResponse()
    out.model_spec.name = request.model_spec.name
    out.model_spec.signature_name = request.model_spec.signature_name or "serving_default"
    if response.model_version and response.model_version.isdigit():
        out.model_spec.version.value = int(response.model_version)
    for tensor in response.outputs:
        out.outputs[tensor.name].CopyFrom(from_array(np.asarray(tensor.data)))
    return out


def encode_metadata(
    request: pb.GetModelMetadataRequest, metadata: ModelMetadata
) -> pb.GetModelMetadataResponse:
    """The default signature's SignatureDef, under `signature_def` as TF Serving sends it."""
    fields = list(request.metadata_field)
    if fields != ["signature_def"]:
        raise InvalidInput(f"metadata_field must be ['signature_def'], got {fields}")
    signature = pb.SignatureDef(method_name=PREDICT_METHOD)
    for specs, target in (
        (metadata.inputs, signature.inputs),
        (metadata.outputs, signature.outputs),
    ):
        for spec in specs:
            info = target[spec.name]
            info.name = spec.name
            info.dtype = DATATYPES.get(spec.datatype, pb.DT_INVALID)
            info.tensor_shape.dim.extend(pb.TensorShapeProto.Dim(size=d) for d in spec.shape)
    name = request.model_spec.signature_name or "serving_default"
    defs = pb.SignatureDefMap()
    defs.signature_def[name].CopyFrom(signature)
    out = pb.GetModelMetadataResponse()
    out.model_spec.name = request.model_spec.name
    out.metadata["signature_def"].CopyFrom(
        pb.Any(type_url=SIGNATURE_DEF_MAP_URL, value=defs.SerializeToString())
    )
    return out
