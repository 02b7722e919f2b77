"""Triton's own clients (tritonclient HTTP and gRPC), unchanged, against an ONNX model served as
kserve-tritonserver serves it: `--framework=triton` on a Triton repository with config.pbtxt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from onnx import TensorProto, helper, numpy_helper
from tritonclient.utils import InferenceServerException

from kserve_server import repository
from kserve_server.settings import ModelSpec

W = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
ROWS = np.asarray([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], dtype=np.float32)
CONFIG = """name: "scorer"
platform: "onnxruntime_onnx"
max_batch_size: 64
input [ { name: "features", data_type: TYPE_FP32, dims: [ 4 ] } ]
output [ { name: "scores", data_type: TYPE_FP32, dims: [ 3 ] } ]
"""


def scorer() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "W"], ["scores"])],
        "scorer",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3])],
        initializer=[numpy_helper.from_array(W, "W")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    (root / "scorer" / "1").mkdir(parents=True)
    onnx.save(scorer(), str(root / "scorer" / "1" / "model.onnx"))
    (root / "scorer" / "config.pbtxt").write_text(CONFIG)
    return root


@pytest.fixture(scope="module")
def served(model_path: Path, server_thread: Any) -> Iterator[tuple[str, str]]:
    """(http host:port, grpc host:port) of `--framework=triton --model_dir=<repository>`."""
    models = repository.discover(
        ModelSpec(name="isvc-name", model_dir=model_path, framework="triton")
    )
    with server_thread(models, models_root=model_path, grpc_port=0) as running:
        yield f"127.0.0.1:{running.port}", f"127.0.0.1:{running.grpc_port}"


def expected(model_path: Path) -> Any:
    session = onnxruntime.InferenceSession(str(model_path / "scorer" / "1" / "model.onnx"))
    return session.run(None, {"features": ROWS})[0]


def test_http_metadata_is_the_models(served: tuple[str, str]) -> None:
    client = triton_http.InferenceServerClient(url=served[0])
    assert client.is_model_ready("scorer")
    metadata = client.get_model_metadata("scorer")
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]
    assert metadata["outputs"] == [{"name": "scores", "datatype": "FP32", "shape": [-1, 3]}]


@pytest.mark.parametrize("binary", [False, True])
def test_http_infer(served: tuple[str, str], model_path: Path, binary: bool) -> None:
    client = triton_http.InferenceServerClient(url=served[0])
    features = triton_http.InferInput("features", list(ROWS.shape), "FP32")
    features.set_data_from_numpy(ROWS, binary_data=binary)
    wanted = triton_http.InferRequestedOutput("scores", binary_data=binary)
    result = client.infer("scorer", [features], outputs=[wanted])
    np.testing.assert_allclose(result.as_numpy("scores"), expected(model_path), rtol=1e-6)


def test_grpc_metadata_and_infer(served: tuple[str, str], model_path: Path) -> None:
    client = triton_grpc.InferenceServerClient(url=served[1])
    assert client.is_model_ready("scorer")
    metadata = client.get_model_metadata("scorer", as_json=True)
    assert metadata["inputs"] == [{"name": "features", "datatype": "FP32", "shape": ["-1", "4"]}]
    features = triton_grpc.InferInput("features", list(ROWS.shape), "FP32")
    features.set_data_from_numpy(ROWS)
    result = client.infer("scorer", [features])
    np.testing.assert_allclose(result.as_numpy("scores"), expected(model_path), rtol=1e-6)


def test_grpc_bad_input_names_it(served: tuple[str, str]) -> None:
    client = triton_grpc.InferenceServerClient(url=served[1])
    image = triton_grpc.InferInput("image", [1, 4], "FP32")
    image.set_data_from_numpy(ROWS[:1])
    with pytest.raises(InferenceServerException, match=r"unknown input .image.*features"):
        client.infer("scorer", [image])
    wrong = triton_grpc.InferInput("features", [1, 4], "FP64")
    wrong.set_data_from_numpy(ROWS[:1].astype(np.float64))
    with pytest.raises(InferenceServerException, match="datatype FP64 does not match"):
        client.infer("scorer", [wrong])
