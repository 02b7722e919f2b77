"""TF Serving's clients, unchanged, against the TensorFlow runtime: REST as upstream's flowers
sample sends it, and gRPC Predict/GetModelMetadata with tensorflow-serving-api's stubs."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

import tensorflow as tf
from conftest import Served, png

IMAGES = [png("green"), png("red")]


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_rest_flowers_sample_body(served: Served, reference: Any) -> None:
    """upstream's flower_input.json shape: one b64 image and a key per instance."""
    body = {
        "instances": [
            {"image_bytes": {"b64": base64.b64encode(img).decode()}, "key": f"   {i}"}
            for i, img in enumerate(IMAGES)
        ]
    }
    status, got = post(f"{served.http}/v1/models/flowers:predict", body)
    assert status == 200
    want = reference["serving_default"](
        image_bytes=tf.constant(IMAGES), key=tf.constant(["   0", "   1"])
    )
    assert [p["prediction"] for p in got["predictions"]] == want["prediction"].numpy().tolist()
    assert [p["key"] for p in got["predictions"]] == ["   0", "   1"]
    np.testing.assert_allclose(
        [p["scores"] for p in got["predictions"]], want["scores"].numpy(), rtol=1e-6
    )


def test_rest_columnar_and_status(served: Served) -> None:
    body = {"signature_name": "numbers", "inputs": {"x": [[0.1, 0.2, 0.3]]}}
    status, got = post(f"{served.http}/v1/models/flowers:predict", body)
    assert status == 200 and list(got) == ["outputs"]
    assert np.asarray(got["outputs"]).shape == (1, 3)
    with urllib.request.urlopen(f"{served.http}/v1/models/flowers", timeout=30) as response:
        assert json.loads(response.read()) == {
            "model_version_status": [
                {
                    "version": "1",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }


def test_rest_unknown_signature_is_400(served: Served) -> None:
    status, got = post(
        f"{served.http}/v1/models/flowers:predict", {"signature_name": "x", "instances": [1]}
    )
    assert status == 400
    assert "signature_name 'x'" in got["error"] and "serving_default" in got["error"]


@pytest.fixture(scope="module")
def stub(served: Served) -> Any:
    channel = grpc.insecure_channel(served.grpc)
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def test_grpc_predict_with_tf_serving_stubs(stub: Any, reference: Any) -> None:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "flowers"
    request.model_spec.signature_name = "serving_default"
    request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto(IMAGES))
    request.inputs["key"].CopyFrom(tf.make_tensor_proto(["a", "b"]))
    response = stub.Predict(request, timeout=30)
    want = reference["serving_default"](
        image_bytes=tf.constant(IMAGES), key=tf.constant(["a", "b"])
    )
    np.testing.assert_allclose(
        tf.make_ndarray(response.outputs["scores"]), want["scores"].numpy(), rtol=1e-6
    )
    assert tf.make_ndarray(response.outputs["prediction"]).tolist() == [1, 0]
    assert tf.make_ndarray(response.outputs["key"]).tolist() == [b"a", b"b"]
    assert response.model_spec.name == "flowers"
    assert response.model_spec.version.value == 1


def test_grpc_predict_numbers_and_errors(stub: Any) -> None:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "flowers"
    request.model_spec.signature_name = "numbers"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.ones((2, 3), np.float32)))
    out = tf.make_ndarray(stub.Predict(request, timeout=30).outputs["y"])
    assert out.shape == (2, 3)
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.ones((2, 2), np.float32)))
    with pytest.raises(grpc.RpcError) as err:
        stub.Predict(request, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "input 'x': shape [2, 2]" in err.value.details()
    request.model_spec.name = "nope"
    with pytest.raises(grpc.RpcError) as err:
        stub.Predict(request, timeout=30)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_grpc_model_metadata(stub: Any) -> None:
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "flowers"
    request.metadata_field.append("signature_def")
    response = stub.GetModelMetadata(request, timeout=30)
    defs = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(defs)
    signature = defs.signature_def["serving_default"]
    assert sorted(signature.inputs) == ["image_bytes", "key"]
    assert signature.inputs["image_bytes"].dtype == tf.string.as_datatype_enum
    assert sorted(signature.outputs) == ["key", "prediction", "scores"]
