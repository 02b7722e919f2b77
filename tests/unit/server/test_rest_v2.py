"""V2 (Open Inference Protocol) endpoints through a real socket."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kserve_server.rest import app as rest_app
from kserve_server.settings import ModelSpec, ServerSettings

from .conftest import AppClient, loaded

INFER = "/v2/models/sklearn-iris/infer"
ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


def iris(**extra: Any) -> dict[str, Any]:
    tensor = {"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": ROWS}
    return {"inputs": [tensor], **extra}


async def test_server_metadata_and_health(client: AppClient) -> None:
    meta = await (await client.get("/v2")).json()
    assert meta["name"] == "kserve-py"
    assert "model_repository_extension" in meta["extensions"]
    assert await (await client.get("/v2/health/live")).json() == {"live": True}
    ready = await client.get("/v2/health/ready")
    assert ready.status == 200
    assert await ready.json() == {"ready": True}


async def test_model_metadata_and_ready(client: AppClient) -> None:
    meta = await (await client.get("/v2/models/sklearn-iris")).json()
    assert meta == {
        "name": "sklearn-iris",
        "versions": None,
        "platform": "sklearn",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
    }
    text = await (await client.get("/v2/models/intent-classifier")).json()
    assert text["inputs"] == [{"name": "input-0", "datatype": "BYTES", "shape": [-1]}]
    assert text["outputs"] == [{"name": "output-0", "datatype": "BYTES", "shape": [-1]}]
    resp = await client.get("/v2/models/sklearn-iris/ready")
    assert await resp.json() == {"name": "sklearn-iris", "ready": True}
    resp = await client.get("/v2/models/sklearn-iris/versions/1/ready")
    assert resp.status == 200
    assert (await client.get("/v2/models/nope/ready")).status == 404
    assert await (await client.get("/v2/models")).json() == {
        "models": ["sklearn-iris", "intent-classifier"]
    }


async def test_infer_like_upstream(client: AppClient) -> None:
    resp = await client.post(INFER, json=iris(id="req-1"))
    assert resp.status == 200
    body = await resp.read()
    assert body == (
        b'{"model_name":"sklearn-iris","model_version":null,"id":"req-1","parameters":null,'
        b'"outputs":[{"name":"output-0","shape":[2],"datatype":"INT64","parameters":null,'
        b'"data":[1,1]}]}'
    )


async def test_infer_generates_an_id(client: AppClient) -> None:
    body = await (await client.post(INFER, json=iris())).json()
    assert len(body["id"]) == 36


async def test_versioned_infer_path(client: AppClient) -> None:
    resp = await client.post("/v2/models/sklearn-iris/versions/3/infer", json=iris())
    assert (await resp.json())["outputs"][0]["data"] == [1, 1]


async def test_text_model_takes_bytes_strings(client: AppClient) -> None:
    tensor = {
        "name": "text",
        "shape": [2, 1],
        "datatype": "BYTES",
        "data": [["Hi, how are you?"], ["I want to cancel my subscription"]],
    }
    resp = await client.post("/v2/models/intent-classifier/infer", json={"inputs": [tensor]})
    output = (await resp.json())["outputs"][0]
    assert output["datatype"] == "BYTES"
    assert output["data"] == ["greeting", "cancellation"]


async def test_bare_string_is_one_bytes_element(client: AppClient) -> None:
    tensor = {"name": "text", "shape": [1], "datatype": "BYTES", "data": "Hello, how are you?"}
    resp = await client.post("/v2/models/intent-classifier/infer", json={"inputs": [tensor]})
    assert (await resp.json())["outputs"][0]["data"] == ["greeting"]


async def test_requested_output_unknown_is_400(client: AppClient) -> None:
    resp = await client.post(INFER, json=iris(outputs=[{"name": "probabilities"}]))
    assert resp.status == 400
    assert "Unexpected inference output 'probabilities'" in (await resp.json())["error"]


async def test_requested_output_selected(client: AppClient) -> None:
    resp = await client.post(INFER, json=iris(outputs=[{"name": "output-0"}]))
    assert [o["name"] for o in (await resp.json())["outputs"]] == ["output-0"]


async def test_binary_output_on_request(client: AppClient) -> None:
    resp = await client.post(INFER, json=iris(parameters={"binary_data_output": True}))
    assert resp.status == 200
    length = int(resp.headers["Inference-Header-Content-Length"])
    body = await resp.read()
    header = __import__("json").loads(body[:length])
    assert list(header) == ["id", "model_name", "model_version", "outputs"]
    output = header["outputs"][0]
    assert output == {
        "name": "output-0",
        "shape": [2],
        "datatype": "INT64",
        "parameters": {"binary_data_size": 16},
    }
    assert np.frombuffer(body[length:], dtype="<i8").tolist() == [1, 1]


async def test_per_output_binary_flag_wins(client: AppClient) -> None:
    request = iris(
        parameters={"binary_data_output": True},
        outputs=[{"name": "output-0", "parameters": {"binary_data": False}}],
    )
    resp = await client.post(INFER, json=request)
    assert "Inference-Header-Content-Length" not in resp.headers
    assert (await resp.json())["outputs"][0]["data"] == [1, 1]


async def test_binary_input(client: AppClient) -> None:
    raw = np.asarray(ROWS, dtype="<f4").tobytes()
    header = (
        b'{"inputs":[{"name":"input-0","shape":[2,4],"datatype":"FP32",'
        b'"parameters":{"binary_data_size":%d}}]}' % len(raw)
    )
    resp = await client.post(
        INFER,
        data=header + raw,
        headers={
            "Content-Type": "application/octet-stream",
            "Inference-Header-Content-Length": str(len(header)),
        },
    )
    assert resp.status == 200
    assert (await resp.json())["outputs"][0]["data"] == [1, 1]  # JSON out unless asked


async def test_binary_bytes_input_for_the_text_model(client: AppClient) -> None:
    texts = [b"Hi, how are you?", b"I want to cancel my subscription"]
    raw = b"".join(struct.pack("<I", len(t)) + t for t in texts)
    header = (
        b'{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES",'
        b'"parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}'
        % len(raw)
    )
    resp = await client.post(
        "/v2/models/intent-classifier/infer",
        data=header + raw,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    length = int(resp.headers["Inference-Header-Content-Length"])
    body = await resp.read()
    rest = body[length:]
    first = struct.unpack_from("<I", rest)[0]
    assert rest[4 : 4 + first] == b"greeting"


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "x", "shape": [1, 4], "datatype": "FP99", "data": [1, 2, 3, 4]}, "FP99"),
        ({"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}, "needs 8"),
        ({"name": "x", "shape": [1, 4], "datatype": "INT8", "data": [1, 2, 3, 999]}, "range"),
        ({"name": "x", "shape": [1, 4], "datatype": "INT32", "data": [1, 2, 3, 4.5]}, "integers"),
        ({"name": "x", "shape": [1, 4], "datatype": "FP32", "data": ["a", "b", "c", "d"]}, "num"),
        ({"name": "x", "shape": [1, 4], "datatype": "BOOL", "data": [1, 0, 1, 0]}, "true/false"),
        ({"name": "x", "shape": [-1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}, "negative"),
        ({"name": "x", "shape": [1, 4], "datatype": "FP32"}, "'data' field is missing"),
        ({"name": "x", "shape": "1,4", "datatype": "FP32", "data": [1]}, "inputs.0.shape"),
        ({"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}, "4 features"),
        ({"name": "x", "shape": [1, 4], "datatype": "FP32", "data": 5}, "must be a list"),
    ],
)
async def test_bad_tensors_are_400_naming_the_problem(
    client: AppClient, tensor: dict[str, Any], message: str
) -> None:
    resp = await client.post(INFER, json={"inputs": [tensor]})
    assert resp.status == 400
    assert message in (await resp.json())["error"]
    ok = await client.post(INFER, json=iris())
    assert ok.status == 200


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"{", {}, "Unrecognized request format"),
        (b'{"inputs": "x"}', {}, "inputs"),
        (b'{"inputs": []}', {}, "inputs"),
        (b'{"inputs": [{"name": "x", "shape": [1]}]}', {}, "inputs.0.datatype: Field required"),
        (b"{}", {"Content-Type": "application/octet-stream"}, "inputs: Field required"),
        (b"{", {"Content-Type": "application/json"}, "Unrecognized request format"),
        (b"{}", {"Inference-Header-Content-Length": "99"}, "body has 2 bytes"),
        (b"{}", {"Inference-Header-Content-Length": "x"}, "must be an integer"),
    ],
)
async def test_malformed_requests_are_400(
    client: AppClient, body: bytes, headers: dict[str, str], message: str
) -> None:
    resp = await client.post(INFER, data=body, headers=headers)
    assert resp.status == 400
    assert message in (await resp.json())["error"]


async def test_unknown_model_is_404(client: AppClient) -> None:
    resp = await client.post("/v2/models/nope/infer", json=iris())
    assert resp.status == 404
    assert await resp.json() == {"error": "Model with name nope does not exist."}


async def test_repository_index_unload_load(client: AppClient) -> None:
    index = await (await client.post("/v2/repository/index")).json()
    assert index == [
        {"name": "sklearn-iris", "state": "READY", "reason": ""},
        {"name": "intent-classifier", "state": "READY", "reason": ""},
    ]
    resp = await client.post("/v2/repository/models/sklearn-iris/unload")
    assert await resp.json() == {"name": "sklearn-iris", "unload": True}
    assert (await client.post(INFER, json=iris())).status == 404
    ready = await client.post("/v2/repository/index", json={"ready": True})
    assert [m["name"] for m in await ready.json()] == ["intent-classifier"]
    assert (await client.get("/v2/health/ready")).status == 200  # unloaded ≠ waiting
    resp = await client.post("/v2/repository/models/sklearn-iris/load")
    assert await resp.json() == {"name": "sklearn-iris", "load": True}
    assert (await (await client.post(INFER, json=iris())).json())["outputs"][0]["data"] == [1, 1]


async def test_repository_unknown_names(client: AppClient) -> None:
    assert (await client.post("/v2/repository/models/nope/load")).status == 404
    assert (await client.post("/v2/repository/models/nope/unload")).status == 404


async def test_a_failed_repository_load_leaves_the_server_ready(
    aiohttp_client: Any, settings: ServerSettings, iris_spec: ModelSpec, tmp_path: Path
) -> None:
    shutil.copytree(iris_spec.model_dir, tmp_path / "iris-copy")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.joblib").write_bytes(b"not a pickle")
    repository = await loaded([iris_spec], root=tmp_path)
    client = await aiohttp_client(rest_app.create_app(settings, repository))
    failed = await client.post("/v2/repository/models/broken/load")
    assert failed.status == 503
    assert "broken" in (await failed.json())["error"]
    assert (await client.get("/v2/health/ready")).status == 200  # the pod stays in its Service
    assert (await client.get("/v2/models/broken/ready")).status == 503
    assert (await client.post(INFER, json=iris())).status == 200
    loaded_later = await client.post("/v2/repository/models/iris-copy/load")
    assert loaded_later.status == 200
    assert (await client.post("/v2/models/iris-copy/infer", json=iris())).status == 200
