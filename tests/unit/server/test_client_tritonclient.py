"""The official Triton HTTP client (`tritonclient[http]`) against our V2 server: JSON and binary."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as triton

ROWS = np.asarray([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], dtype=np.float32)


@pytest.fixture(scope="module")
def client(live_server: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url=live_server)


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("sklearn-iris")
    assert not client.is_model_ready("nope")
    assert client.get_server_metadata()["name"] == "kserve-py"
    assert client.get_model_metadata("sklearn-iris")["platform"] == "sklearn"


@pytest.mark.parametrize("binary_in", [False, True])
@pytest.mark.parametrize("binary_out", [False, True])
def test_iris_json_and_binary(
    client: triton.InferenceServerClient, binary_in: bool, binary_out: bool
) -> None:
    tensor = triton.InferInput("input-0", list(ROWS.shape), "FP32")
    tensor.set_data_from_numpy(ROWS, binary_data=binary_in)
    wanted = triton.InferRequestedOutput("output-0", binary_data=binary_out)
    result = client.infer("sklearn-iris", [tensor], outputs=[wanted], request_id="t-1")
    assert result.as_numpy("output-0").tolist() == [1, 1]
    assert result.get_response()["id"] == "t-1"


@pytest.mark.parametrize("binary", [False, True])
def test_intent_bytes(client: triton.InferenceServerClient, binary: bool) -> None:
    texts = np.asarray([["Hi, how are you?"], ["I want to cancel my subscription"]], dtype=object)
    tensor = triton.InferInput("text", [2, 1], "BYTES")
    tensor.set_data_from_numpy(texts, binary_data=binary)
    result = client.infer(
        "intent-classifier",
        [tensor],
        outputs=[triton.InferRequestedOutput("output-0", binary_data=binary)],
    )
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("output-0")]
    assert labels == ["greeting", "cancellation"]


def test_all_outputs_default(client: triton.InferenceServerClient) -> None:
    tensor = triton.InferInput("input-0", list(ROWS.shape), "FP32")
    tensor.set_data_from_numpy(ROWS, binary_data=True)
    assert client.infer("sklearn-iris", [tensor]).as_numpy("output-0").tolist() == [1, 1]


def test_errors_surface_as_exceptions_with_our_message(
    client: triton.InferenceServerClient,
) -> None:
    tensor = triton.InferInput("input-0", [1, 2], "FP32")
    tensor.set_data_from_numpy(np.ones((1, 2), dtype=np.float32))
    with pytest.raises(triton.InferenceServerException, match="expected 4 features"):
        client.infer("sklearn-iris", [tensor])
    with pytest.raises(triton.InferenceServerException, match="does not exist"):
        client.infer("nope", [tensor])


def test_repository_extension(client: triton.InferenceServerClient) -> None:
    names = {entry["name"] for entry in client.get_model_repository_index()}
    assert names == {"sklearn-iris", "intent-classifier"}
    client.unload_model("intent-classifier")
    assert not client.is_model_ready("intent-classifier")
    client.load_model("intent-classifier")
    assert client.is_model_ready("intent-classifier")
