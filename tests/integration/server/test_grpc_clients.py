"""Upstream gRPC clients, unchanged, against our server: Triton's `tritonclient.grpc` in this
venv, and the kserve SDK's InferenceGRPCClient in its own venv (kserve_sdk_grpc_driver.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

HERE = Path(__file__).resolve().parent
ROWS = np.asarray([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], dtype=np.float32)


@pytest.fixture(scope="module")
def client(served: Any) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url=served.grpc_target)


def iris_input(rows: np.ndarray[Any, Any], datatype: str = "FP32") -> triton.InferInput:
    tensor = triton.InferInput("input-0", list(rows.shape), datatype)
    tensor.set_data_from_numpy(rows)
    return tensor


def status(call: Any) -> tuple[str, str]:
    with pytest.raises(InferenceServerException) as caught:
        call()
    return str(caught.value.status()), caught.value.message()


def test_triton_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("sklearn-iris")
    assert client.get_server_metadata().name == "kserve-py"
    metadata = client.get_model_metadata("sklearn-iris", as_json=True)
    assert metadata["platform"] == "sklearn"
    assert metadata["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": ["-1", "4"]}]


@pytest.mark.parametrize(("dtype", "datatype"), [(np.float32, "FP32"), (np.float64, "FP64")])
def test_triton_iris_infer(client: triton.InferenceServerClient, dtype: Any, datatype: str) -> None:
    result = client.infer(
        "sklearn-iris", [iris_input(ROWS.astype(dtype), datatype)], request_id="t1"
    )
    assert result.get_response().id == "t1"
    assert result.as_numpy("output-0").tolist() == [1, 1]


def test_triton_text_model_and_requested_output(client: triton.InferenceServerClient) -> None:
    texts = triton.InferInput("text", [2], "BYTES")
    texts.set_data_from_numpy(np.asarray(["Hello, how are you?", "Cancel my plan"], dtype=object))
    result = client.infer(
        "intent-classifier", [texts], outputs=[triton.InferRequestedOutput("output-0")]
    )
    assert result.as_numpy("output-0").tolist() == [b"greeting", b"cancellation"]


def test_triton_bad_requests_name_the_problem_and_the_server_keeps_serving(
    client: triton.InferenceServerClient,
) -> None:
    assert status(lambda: client.infer("nope", [iris_input(ROWS)])) == (
        "StatusCode.NOT_FOUND",
        "Model with name nope does not exist.",
    )
    assert status(lambda: client.infer("sklearn-iris", [iris_input(ROWS[:, :2].copy())])) == (
        "StatusCode.INVALID_ARGUMENT",
        "expected 4 features per instance, got 2",
    )
    code, message = status(
        lambda: client.infer(
            "sklearn-iris", [iris_input(ROWS)], outputs=[triton.InferRequestedOutput("proba")]
        )
    )
    assert (code, message) == (
        "StatusCode.INVALID_ARGUMENT",
        "Unexpected inference output 'proba' for model 'sklearn-iris'",
    )
    assert client.infer("sklearn-iris", [iris_input(ROWS)]).as_numpy("output-0").tolist() == [1, 1]


def test_triton_repository_unload_and_load(client: triton.InferenceServerClient) -> None:
    client.unload_model("intent-classifier")
    assert status(lambda: client.is_model_ready("intent-classifier"))[0] == "StatusCode.NOT_FOUND"
    client.load_model("intent-classifier")
    assert client.is_model_ready("intent-classifier")


@pytest.fixture(scope="module")
def sdk(served: Any, sdk_python: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sdk_python, str(HERE / "kserve_sdk_grpc_driver.py"), served.grpc_target],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"the SDK gRPC driver failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_sdk_health(sdk: dict[str, Any]) -> None:
    assert (sdk["live"], sdk["ready"], sdk["model_ready"]) == (True, True, True)


@pytest.mark.parametrize("contents", ["typed", "raw"])
def test_sdk_iris_infer(sdk: dict[str, Any], contents: str) -> None:
    assert sdk[f"iris_{contents}"] == {
        "id": "sdk-grpc-1",
        "model_name": "sklearn-iris",
        "data": [1, 1],
        "datatype": "INT64",
    }


def test_sdk_text_model(sdk: dict[str, Any]) -> None:
    assert sdk["intent"] == ["greeting", "cancellation"]


def test_sdk_bad_requests_get_status_codes_and_messages(sdk: dict[str, Any]) -> None:
    assert sdk["unknown_model"] == ["NOT_FOUND", "Model with name nope does not exist."]
    assert sdk["unknown_model_ready"] == ["NOT_FOUND", "Model with name nope does not exist."]
    assert sdk["wrong_width"] == ["INVALID_ARGUMENT", "expected 4 features per instance, got 2"]
    assert sdk["text_to_iris"] == [
        "INVALID_ARGUMENT",
        "ValueError: could not convert string to float: 'x'",
    ]
    code, message = sdk["wrong_datatype"]
    assert code == "INVALID_ARGUMENT"
    assert message.startswith("input 'input-0': unsupported datatype 'FP99'; expected one of BOOL")
    assert sdk["after_errors"] == [1, 1]
