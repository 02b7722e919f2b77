"""TF Serving's TensorProto ↔ numpy, as TF's own clients fill it: tensor_content, the typed
repeated fields, one value filling a shape, strings; bad tensors are 400s naming the input."""

from __future__ import annotations

import numpy as np
import pytest

from kserve_server.errors import InvalidInput
from kserve_server.inference import InferResponse, ModelMetadata, Tensor, TensorSpec
from kserve_server.protocol import tf_grpc
from kserve_server.protocol import tf_serving_pb2 as pb


def proto(dtype: int, shape: list[int], **fields: object) -> pb.TensorProto:
    tensor = pb.TensorProto(dtype=dtype, **fields)  # type: ignore[arg-type]
    tensor.tensor_shape.dim.extend(pb.TensorShapeProto.Dim(size=d) for d in shape)
    return tensor


def test_tensor_content_round_trip() -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    back = tf_grpc.to_array(tf_grpc.from_array(x), name="x")
    assert back.dtype == np.float32 and back.tolist() == x.tolist()


@pytest.mark.parametrize(
    ("tensor", "expected"),
    [
        (proto(pb.DT_FLOAT, [2], float_val=[1.5, 2.5]), [1.5, 2.5]),
        (proto(pb.DT_INT64, [2, 2], int64_val=[7]), [[7, 7], [7, 7]]),  # one value fills
        (proto(pb.DT_INT32, [3], int_val=[1, 2, 3]), [1, 2, 3]),
        (proto(pb.DT_BOOL, [2], bool_val=[True, False]), [True, False]),
        (proto(pb.DT_STRING, [2], string_val=[b"a", b"\xff"]), [b"a", b"\xff"]),
    ],
)
def test_typed_fields(tensor: pb.TensorProto, expected: list[object]) -> None:
    assert tf_grpc.to_array(tensor, name="x").tolist() == expected


def test_a_wrong_count_or_dtype_names_the_input() -> None:
    with pytest.raises(InvalidInput, match="input 'x': shape \\[3\\] needs 3 values, got 2"):
        tf_grpc.to_array(proto(pb.DT_FLOAT, [3], float_val=[1, 2]), name="x")
    with pytest.raises(InvalidInput, match="input 'x': unsupported dtype DT_COMPLEX64"):
        tf_grpc.to_array(proto(pb.DT_COMPLEX64, [1]), name="x")


def test_predict_round_trip_keeps_names_signature_and_version() -> None:
    request = pb.PredictRequest()
    request.model_spec.name = "flowers"
    request.model_spec.signature_name = "numbers"
    request.inputs["x"].CopyFrom(tf_grpc.from_array(np.ones((1, 3), np.float32)))
    request.output_filter.append("y")
    decoded = tf_grpc.decode_predict(request)
    assert decoded.parameters == {"signature_name": "numbers"}
    assert [o.name for o in decoded.outputs or []] == ["y"]
    y = np.asarray([[1.0, 2.0]], np.float32)
    answer = InferResponse(outputs=[Tensor("y", "", [1, 2], y)], model_version="3")
    encoded = tf_grpc.encode_predict(answer, request)
    assert encoded.model_spec.version.value == 3
    assert tf_grpc.to_array(encoded.outputs["y"], name="y").tolist() == [[1.0, 2.0]]


def test_metadata_is_a_signature_def_map_in_an_any() -> None:
    request = pb.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "m"
    meta = ModelMetadata(
        inputs=[TensorSpec("image_bytes", "BYTES", [-1])], outputs=[TensorSpec("p", "FP32", [-1])]
    )
    out = tf_grpc.encode_metadata(request, meta)
    packed = out.metadata["signature_def"]
    assert packed.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    defs = pb.SignatureDefMap.FromString(packed.value)
    info = defs.signature_def["serving_default"].inputs["image_bytes"]
    assert info.dtype == pb.DT_STRING and [d.size for d in info.tensor_shape.dim] == [-1]
    with pytest.raises(InvalidInput, match="metadata_field"):
        tf_grpc.encode_metadata(pb.GetModelMetadataRequest(), meta)
