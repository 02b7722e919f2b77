"""ONNX runtime on graphs built here with onnx.helper and on the test models onnx and onnxruntime
ship: V1 and V2 answers equal onnxruntime's own, metadata names the graph's real tensors, and
bad input is a 400 naming the input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from onnx import TensorProto, helper, numpy_helper

from kserve_server import repository, runtimes
from kserve_server.errors import InvalidInput, ModelLoadError
from kserve_server.inference import InferRequest, PredictRequest, RequestedOutput, Tensor
from kserve_server.rest import app as rest_app
from kserve_server.runtimes.base import Model
from kserve_server.settings import ModelSpec, ServerSettings

W = np.asarray([[0.5, -1.0, 0.25], [1.5, 0.5, -0.5], [-0.5, 2.0, 1.0], [1.0, 0.0, -1.5]], "f4")
B = np.asarray([0.1, -0.2, 0.3], "f4")
ROWS = np.asarray([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], "f4")
AppClient = TestClient[web.Request, web.Application]


def linear_graph() -> onnx.ModelProto:
    """x [N,4] → scores = x·W + b [N,3] and label = argmax(scores) [N] (INT64)."""
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["scores"]),
        helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
        ],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def two_inputs_graph() -> onnx.ModelProto:
    """a [N,2] INT64 + b [N,2] INT64 → total; text [N] STRING → echo."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["total"]),
            helper.make_node("Identity", ["text"], ["echo"]),
        ],
        "two",
        [
            helper.make_tensor_value_info("a", TensorProto.INT64, ["N", 2]),
            helper.make_tensor_value_info("b", TensorProto.INT64, ["N", 2]),
            helper.make_tensor_value_info("text", TensorProto.STRING, ["N"]),
        ],
        [
            helper.make_tensor_value_info("total", TensorProto.INT64, ["N", 2]),
            helper.make_tensor_value_info("echo", TensorProto.STRING, ["N"]),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def save(graph: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(graph, str(path))
    return path


def reference(path: Path, feeds: dict[str, Any]) -> list[Any]:
    """onnxruntime's own answer, the ground truth."""
    return list(onnxruntime.InferenceSession(str(path)).run(None, feeds))


def loaded(name: str, model_dir: Path, framework: str = "onnx") -> Model:
    model = runtimes.create(ModelSpec(name=name, model_dir=model_dir, framework=framework))  # type: ignore[arg-type]
    model.load()
    return model


@pytest.fixture(scope="module")
def linear_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("linear")
    save(linear_graph(), out / "model.onnx")
    return out


@pytest.fixture(scope="module")
def two_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("two")
    save(two_inputs_graph(), out / "model.onnx")
    return out


def test_v1_and_v2_equal_onnxruntime(linear_dir: Path) -> None:
    scores, labels = reference(linear_dir / "model.onnx", {"x": ROWS})
    model = loaded("linear", linear_dir)
    v1 = model.predict(PredictRequest(instances=ROWS.tolist()))
    rows = [{k: np.asarray(v).tolist() for k, v in row.items()} for row in v1.predictions]  # type: ignore[union-attr]
    assert rows == [{"scores": scores[i].tolist(), "label": int(labels[i])} for i in range(2)]
    v2 = model.predict(InferRequest(inputs=[Tensor("x", "FP32", [2, 4], ROWS)]))
    by_name = {t.name: t.data for t in v2.outputs}  # type: ignore[union-attr]
    np.testing.assert_array_equal(by_name["scores"], scores)
    np.testing.assert_array_equal(by_name["label"], labels)


def test_metadata_names_the_graphs_tensors(linear_dir: Path) -> None:
    meta = loaded("linear", linear_dir).metadata()
    assert meta.platform == "onnxruntime_onnx"
    assert [(s.name, s.datatype, s.shape) for s in meta.inputs] == [("x", "FP32", [-1, 4])]
    assert [(s.name, s.datatype, s.shape) for s in meta.outputs] == [
        ("scores", "FP32", [-1, 3]),
        ("label", "INT64", [-1]),
    ]


def test_requested_outputs_only(linear_dir: Path) -> None:
    model = loaded("linear", linear_dir)
    request = InferRequest(
        inputs=[Tensor("x", "FP32", [2, 4], ROWS)], outputs=[RequestedOutput("label")]
    )
    response = model.predict(request)
    assert [t.name for t in response.outputs] == ["label"]  # type: ignore[union-attr]


def test_named_inputs_and_strings(two_dir: Path) -> None:
    model = loaded("two", two_dir)
    a = np.asarray([[1, 2], [3, 4]], "i8")
    texts = np.asarray(["héllo", b"bytes"], dtype=object)
    response = model.predict(
        InferRequest(
            inputs=[
                Tensor("a", "INT64", [2, 2], a),
                Tensor("b", "INT64", [2, 2], a * 10),
                Tensor("text", "BYTES", [2], texts),
            ]
        )
    )
    out = {t.name: t.data for t in response.outputs}  # type: ignore[union-attr]
    assert out["total"].tolist() == [[11, 22], [33, 44]]
    assert out["echo"].tolist() == ["héllo", "bytes"]
    rows = model.predict(
        PredictRequest(instances=[{"a": [1, 2], "b": [3, 4], "text": "x"}])
    ).predictions  # type: ignore[union-attr]
    assert np.asarray(rows[0]["total"]).tolist() == [4, 6]
    assert rows[0]["echo"] == "x"


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (
            Tensor("nope", "FP32", [2, 4], ROWS),
            "unknown input 'nope' for model linear; its inputs are ['x']",
        ),
        (
            Tensor("x", "FP64", [2, 4], ROWS.astype("f8")),
            "input 'x': datatype FP64 does not match the model's FP32",
        ),
        (
            Tensor("x", "FP32", [2, 3], ROWS[:, :3]),
            "input 'x': shape [2, 3] does not match the model's [-1, 4]",
        ),
        (Tensor("x", "FP32", [8], ROWS.reshape(-1)), "input 'x': shape [8]"),
    ],
)
def test_bad_input_names_the_input(linear_dir: Path, tensor: Tensor, message: str) -> None:
    model = loaded("linear", linear_dir)
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        model.predict(InferRequest(inputs=[tensor]))


def test_v1_for_a_multi_input_model_asks_for_objects(two_dir: Path) -> None:
    with pytest.raises(InvalidInput, match="several inputs"):
        loaded("two", two_dir).predict(PredictRequest(instances=[[1, 2]]))
    with pytest.raises(InvalidInput, match="every instance must name input 'b'"):
        loaded("two", two_dir).predict(PredictRequest(instances=[{"a": [1, 2]}]))


def test_onnxruntime_packaged_model(tmp_path: Path) -> None:
    from onnxruntime import datasets

    source = Path(datasets.get_example("sigmoid.onnx"))
    save(onnx.load(str(source)), tmp_path / "model.onnx")
    x = np.random.default_rng(0).random((3, 4, 5), dtype=np.float32)
    (expected,) = reference(source, {"x": x})
    model = loaded("sigmoid", tmp_path)
    response = model.predict(InferRequest(inputs=[Tensor("x", "FP32", [3, 4, 5], x)]))
    np.testing.assert_allclose(response.outputs[0].data, expected)  # type: ignore[union-attr]


def onnx_node_test(name: str) -> Path:
    """A model with its test vectors, from the backend test data the onnx wheel ships."""
    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-operator" / name


@pytest.mark.parametrize(
    "case", ["test_operator_exp", "test_operator_conv", "test_operator_maxpool"]
)
def test_onnx_packaged_node_tests(case: str, tmp_path: Path) -> None:
    folder = onnx_node_test(case)
    assert folder.is_dir(), f"the onnx wheel no longer ships {folder}"
    graph = onnx.load(str(folder / "model.onnx"))
    save(graph, tmp_path / case / "1" / "model.onnx")  # Triton's layout, no config.pbtxt
    inputs = [
        numpy_helper.to_array(onnx.load_tensor(str(p)))
        for p in sorted((folder / "test_data_set_0").glob("input_*.pb"))
    ]
    outputs = [
        numpy_helper.to_array(onnx.load_tensor(str(p)))
        for p in sorted((folder / "test_data_set_0").glob("output_*.pb"))
    ]
    (spec,) = repository.discover(ModelSpec(name="isvc", model_dir=tmp_path, framework="triton"))
    assert spec.name == case
    model = loaded(spec.name, spec.model_dir, "triton")
    weights = {i.name for i in graph.graph.initializer}  # old graphs list weights as inputs
    names = [i.name for i in graph.graph.input if i.name not in weights]
    datatypes = {np.dtype("f4"): "FP32", np.dtype("f8"): "FP64", np.dtype("i8"): "INT64"}
    tensors = [
        Tensor(n, datatypes[a.dtype], list(a.shape), a) for n, a in zip(names, inputs, strict=True)
    ]
    response = model.predict(InferRequest(inputs=tensors))
    for got, want in zip(response.outputs, outputs, strict=True):  # type: ignore[union-attr]
        np.testing.assert_allclose(got.data, want, rtol=1e-5)


CONFIG = """
name: "linear"
platform: "onnxruntime_onnx"   # Triton's name for the backend
max_batch_size: 8
input [
  { name: "x", data_type: TYPE_FP32, dims: [ 4 ] }
]
output [
  { name: "scores" data_type: TYPE_FP32 dims: [ 3 ] },
  { name: "label", data_type: TYPE_INT64, dims: [ ] }
]
"""


def triton_repo(root: Path, config: str, versions: tuple[int, ...] = (1, 3)) -> Path:
    for version in versions:
        save(linear_graph(), root / "linear" / str(version) / "model.onnx")
    (root / "linear" / "config.pbtxt").write_text(config)
    return root


def test_triton_layout_with_config(tmp_path: Path) -> None:
    root = triton_repo(tmp_path, CONFIG)
    save(linear_graph(), root / "other" / "1" / "model.onnx")
    specs = repository.discover(ModelSpec(name="isvc", model_dir=root, framework="triton"))
    assert [s.name for s in specs] == ["linear", "other"]
    model = loaded("linear", root / "linear", "triton")
    assert model.model_file() == root / "linear" / "3" / "model.onnx"  # type: ignore[attr-defined]
    meta = model.metadata()
    assert [(s.name, s.shape) for s in meta.inputs] == [("x", [-1, 4])]
    assert [(s.name, s.shape) for s in meta.outputs] == [("scores", [-1, 3]), ("label", [-1])]


def test_config_that_disagrees_with_the_graph_fails_to_load(tmp_path: Path) -> None:
    root = triton_repo(tmp_path, CONFIG.replace('"x"', '"image"'), versions=(1,))
    model = runtimes.create(ModelSpec(name="linear", model_dir=root / "linear", framework="triton"))
    with pytest.raises(ModelLoadError, match="names 'image', which the model does not have"):
        model.load()


@pytest.mark.parametrize(
    ("platform", "backend"),
    [
        ('platform: "tensorrt_plan"', "tensorrt"),
        ('backend: "python"', "python"),
        ('platform: "pytorch_libtorch"', "pytorch"),
    ],
)
def test_unserved_backends_fail_to_load_naming_it(
    tmp_path: Path, platform: str, backend: str
) -> None:
    (tmp_path / "m" / "1").mkdir(parents=True)
    (tmp_path / "m" / "config.pbtxt").write_text(f'name: "m"\n{platform}\n')
    model = runtimes.create(ModelSpec(name="m", model_dir=tmp_path / "m", framework="triton"))
    with pytest.raises(ModelLoadError, match=f"backend '{backend}' of model m is not served"):
        model.load()


def test_corrupt_model_fails_to_load_with_onnxruntimes_reason(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not a protobuf at all")
    model = runtimes.create(ModelSpec(name="bad", model_dir=tmp_path, framework="onnx"))
    with pytest.raises(ModelLoadError, match=r"cannot load ONNX model model\.onnx: "):
        model.load()


@pytest.fixture
async def client(aiohttp_client: Any, linear_dir: Path) -> AppClient:
    repo = repository.ModelRepository(
        [ModelSpec(name="linear", model_dir=linear_dir, framework="onnx")]
    )
    await repo.load_all()
    settings = ServerSettings(host="127.0.0.1", http_port=0)
    return await aiohttp_client(rest_app.create_app(settings, repo))  # type: ignore[no-any-return]


async def test_rest_v2_metadata_and_infer(client: AppClient, linear_dir: Path) -> None:
    meta = await (await client.get("/v2/models/linear")).json()
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]
    body = {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": ROWS.tolist()}]}
    resp = await client.post("/v2/models/linear/infer", json=body)
    assert resp.status == 200
    outputs = {o["name"]: o for o in (await resp.json())["outputs"]}
    scores, labels = reference(linear_dir / "model.onnx", {"x": ROWS})
    assert outputs["label"] == {
        "name": "label",
        "shape": [2],
        "datatype": "INT64",
        "parameters": None,
        "data": labels.tolist(),
    }
    np.testing.assert_allclose(outputs["scores"]["data"], scores.reshape(-1), rtol=1e-6)


async def test_rest_errors_are_400_naming_the_input(client: AppClient) -> None:
    body = {
        "inputs": [{"name": "image", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
    }
    resp = await client.post("/v2/models/linear/infer", json=body)
    assert resp.status == 400
    assert "unknown input 'image'" in (await resp.json())["error"]
    resp = await client.post("/v1/models/linear:predict", json={"instances": [[1, 2]]})
    assert resp.status == 400
    assert "input 'x': shape [1, 2]" in (await resp.json())["error"]


@pytest.mark.parametrize("wanted", [["probabilities"], ["label", "probabilities"]])
async def test_rest_unknown_requested_output_is_400_naming_it(
    client: AppClient, wanted: list[str]
) -> None:
    """Asking for no known output at all was a 500 (onnxruntime, asked for none, ran all)."""
    body = {
        "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}],
        "outputs": [{"name": name} for name in wanted],
    }
    resp = await client.post("/v2/models/linear/infer", json=body)
    assert resp.status == 400
    assert (await resp.json())["error"] == (
        "Unexpected inference output 'probabilities' for model 'linear'"
    )


async def test_corrupt_model_exits_with_the_reason_as_termination_message(tmp_path: Path) -> None:
    """What the controller turns into Ready=False ModelLoadFailed with this message."""
    from kserve_server import server

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.onnx").write_bytes(b"\x08garbage")
    log = tmp_path / "termination-log"
    log.write_text("")  # the kubelet creates it; the server only writes into an existing one
    settings = ServerSettings(host="127.0.0.1", http_port=0, termination_log=log)
    running = await server.start(
        settings, models=[ModelSpec(name="m", model_dir=tmp_path / "m", framework="onnx")]
    )
    assert await running.wait() == 1
    assert log.read_text().startswith("model m: ModelLoadError: cannot load ONNX model model.onnx")


def test_triton_serves_a_flat_onnx_file_under_the_isvc_name(linear_dir: Path) -> None:
    """upstream's onnx sample: a bare model.onnx under the storageUri, served via Triton."""
    (spec,) = repository.discover(ModelSpec(name="style", model_dir=linear_dir, framework="triton"))
    assert spec.name == "style"
    assert loaded(spec.name, spec.model_dir, "triton").metadata().inputs[0].name == "x"
