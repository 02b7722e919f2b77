"""The PyTorch runtime (`--framework pytorch`) on tiny models made here with torch.jit.script and
torch.export: answers over V1, V2 JSON, V2 binary and gRPC equal the model's own forward, in a
plain directory, Triton's layout and TorchServe's model store; what it refuses, it names."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import torch

from kserve_server import repository, server
from kserve_server.errors import ModelLoadError
from kserve_server.protocol import open_inference_pb2 as pb
from kserve_server.runtimes import pytorch
from kserve_server.settings import ModelSpec, ServerSettings

# torch 2.15 deprecates TorchScript in favour of torch.export; users' model.pt files are still
# TorchScript, so both are made and served here
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


class Classifier(torch.nn.Module):
    """x [N, 4] float → class probabilities [N, 3]."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).softmax(-1)


class Scaled(torch.nn.Module):
    """x [N, 4] float and n [N, 1] int64 → {"y": linear(x) * n, "total": sum of x}."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, n: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"y": self.linear(x) * n, "total": x.sum(-1)}


class Pickled:
    """Unpickling this writes a marker file: proof that a file was never unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def seeded(cls: type[torch.nn.Module]) -> torch.nn.Module:
    torch.manual_seed(0)
    return cls().eval()


def forward(model: torch.nn.Module, *args: Any) -> Any:
    with torch.inference_mode():
        return model(*args)


@pytest.fixture(scope="module")
def classifier() -> torch.nn.Module:
    return seeded(Classifier)


@pytest.fixture(scope="module")
def scaled() -> torch.nn.Module:
    return seeded(Scaled)


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory, classifier: torch.nn.Module, scaled: Any
) -> Path:
    """Every layout: a plain TorchScript dir, Triton's layout, a .pt2, TorchServe's store."""
    root = tmp_path_factory.mktemp("pytorch")
    scripted = torch.jit.script(classifier)
    (root / "plain").mkdir()
    scripted.save(str(root / "plain" / "model.pt"))
    (root / "triton" / "1").mkdir(parents=True)
    scripted.save(str(root / "triton" / "1" / "model.pt"))
    (root / "triton" / "config.pbtxt").write_text(
        'name: "triton"\nplatform: "pytorch_libtorch"\nmax_batch_size: 8\n'
        'input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]\n'
        'output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 3 ] } ]\n'
    )
    batch = torch.export.Dim("batch")
    program = torch.export.export(
        scaled,
        (torch.zeros(2, 4), torch.ones(2, 1, dtype=torch.int64)),
        dynamic_shapes={"x": {0: batch}, "n": {0: batch}},
    )
    (root / "exported").mkdir()
    torch.export.save(program, str(root / "exported" / "model.pt2"))
    (root / "ts" / "config").mkdir(parents=True)
    (root / "ts" / "model-store").mkdir()
    mar(root / "ts" / "model-store" / "mnist.mar", scripted, handler="base_handler")
    snapshot = {
        "name": "startup.cfg",
        "modelCount": 1,
        "models": {
            "mnist": {"1.0": {"defaultVersion": True, "marName": "mnist.mar", "minWorkers": 1}}
        },
    }
    (root / "ts" / "config" / "config.properties").write_text(
        "inference_address=http://0.0.0.0:8085\nservice_envelope=kservev2\n"
        f"model_snapshot={json.dumps(snapshot)[:40]}\\\n  {json.dumps(snapshot)[40:]}\n"
    )
    return root


def mar(path: Path, scripted: Any, *, handler: str, extra: dict[str, bytes] | None = None) -> Path:
    """A TorchServe archive as torch-model-archiver writes it: manifest + serialized file."""
    manifest = {
        "createdOn": "07/12/2026 00:00:00",
        "runtime": "python",
        "archiverVersion": "0.12.0",
        "model": {
            "modelName": path.stem,
            "serializedFile": "model.pt",
            "handler": handler,
            "modelVersion": "1.0",
        },
    }
    saved = path.parent / "model.pt.tmp"
    scripted.save(str(saved))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("MAR-INF/MANIFEST.json", json.dumps(manifest))
        zf.write(saved, "model.pt")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    saved.unlink()
    return path


@pytest.fixture(scope="module")
def served(server_thread: Any, store: Path) -> Any:
    specs = [
        ModelSpec(name="plain", model_dir=store / "plain", framework="pytorch"),
        ModelSpec(name="triton", model_dir=store / "triton", framework="pytorch"),
        ModelSpec(name="exported", model_dir=store / "exported", framework="pytorch"),
        *repository.discover(ModelSpec(name="ts", model_dir=store / "ts", framework="pytorch")),
    ]
    with server_thread(specs, grpc_port=0) as running:
        yield running


def call(
    running: Any,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(
        f"http://127.0.0.1:{running.port}{path}",
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def post(running: Any, path: str, body: Any) -> tuple[int, Any]:
    status, _, data = call(running, path, body)
    return status, json.loads(data)


def test_torchscript_v1_and_v2_json_answer_forward(served: Any, classifier: Any) -> None:
    want = forward(classifier, torch.tensor(ROWS)).numpy()
    status, body = post(served, "/v1/models/plain:predict", {"instances": ROWS})
    assert status == 200
    np.testing.assert_allclose(body["predictions"], want, rtol=1e-6)
    status, body = post(
        served,
        "/v2/models/plain/infer",
        {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": ROWS}]},
    )
    assert status == 200
    [out] = body["outputs"]
    assert (out["name"], out["datatype"], out["shape"]) == ("output-0", "FP32", [2, 3])
    np.testing.assert_allclose(np.reshape(out["data"], (2, 3)), want, rtol=1e-6)
    status, _, raw = call(served, "/v2/models/plain")
    meta = json.loads(raw)
    assert meta["platform"] == "pytorch_libtorch"
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1]}]


def test_torchserve_v2_envelope_names_are_fed_in_order(served: Any, classifier: Any) -> None:
    """TorchServe's KServe v2 envelope ignores tensor names: upstream's samples send input-0."""
    status, body = post(
        served,
        "/v2/models/plain/infer",
        {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]}]},
    )
    assert status == 200
    np.testing.assert_allclose(
        body["outputs"][0]["data"], forward(classifier, torch.tensor(ROWS[:1]))[0], rtol=1e-6
    )


def test_v2_binary_tensors_answer_forward(served: Any, classifier: Any) -> None:
    x = np.asarray(ROWS, np.float32)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2, 4],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": x.nbytes},
                }
            ],
            "outputs": [{"name": "output-0", "parameters": {"binary_data": True}}],
        }
    ).encode()
    status, headers, data = call(
        served,
        "/v2/models/plain/infer",
        raw=header + x.tobytes(),
        headers={
            "Inference-Header-Content-Length": str(len(header)),
            "Content-Type": "application/octet-stream",
        },
    )
    assert status == 200, data
    length = int(headers["Inference-Header-Content-Length"])
    meta = json.loads(data[:length])
    assert meta["outputs"][0]["parameters"]["binary_data_size"] == 2 * 3 * 4
    got = np.frombuffer(data[length:], np.float32).reshape(2, 3)
    np.testing.assert_allclose(got, forward(classifier, torch.tensor(ROWS)).numpy(), rtol=1e-6)


def test_grpc_model_infer_answers_forward(served: Any, classifier: Any) -> None:
    x = np.asarray(ROWS, np.float32)
    request = pb.ModelInferRequest(
        model_name="plain",
        inputs=[pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP32", shape=[2, 4])],
    )
    request.raw_input_contents.append(x.tobytes())
    with grpc.insecure_channel(f"127.0.0.1:{served.grpc_port}") as channel:
        infer = channel.unary_unary(
            "/inference.GRPCInferenceService/ModelInfer",
            request_serializer=pb.ModelInferRequest.SerializeToString,
            response_deserializer=pb.ModelInferResponse.FromString,
        )
        response = infer(request, timeout=60)
    [out] = response.outputs
    assert (out.name, out.datatype, list(out.shape)) == ("output-0", "FP32", [2, 3])
    got = np.frombuffer(response.raw_output_contents[0], np.float32).reshape(2, 3)
    np.testing.assert_allclose(got, forward(classifier, torch.tensor(ROWS)).numpy(), rtol=1e-6)


def test_triton_layout_serves_config_names(served: Any, classifier: Any) -> None:
    status, body = post(
        served,
        "/v2/models/triton/infer",
        {"inputs": [{"name": "INPUT__0", "shape": [2, 4], "datatype": "FP32", "data": ROWS}]},
    )
    assert status == 200
    [out] = body["outputs"]
    assert (out["name"], out["shape"]) == ("OUTPUT__0", [2, 3])
    np.testing.assert_allclose(
        np.reshape(out["data"], (2, 3)), forward(classifier, torch.tensor(ROWS)), rtol=1e-6
    )
    status, body = post(
        served,
        "/v2/models/triton/infer",
        {"inputs": [{"name": "INPUT__0", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
    )
    assert status == 400
    assert "input 'INPUT__0': shape [1, 3] does not match the model's [-1, 4]" in body["error"]


def test_exported_program_metadata_and_named_inputs(served: Any, scaled: Any) -> None:
    _, _, raw = call(served, "/v2/models/exported")
    meta = json.loads(raw)
    assert meta["inputs"] == [
        {"name": "x", "datatype": "FP32", "shape": [-1, 4]},
        {"name": "n", "datatype": "INT64", "shape": [-1, 1]},
    ]
    assert meta["outputs"] == [
        {"name": "y", "datatype": "FP32", "shape": [-1, 2]},
        {"name": "total", "datatype": "FP32", "shape": [-1]},
    ]
    want = forward(scaled, torch.tensor(ROWS), torch.tensor([[2], [3]]))
    status, body = post(
        served,
        "/v2/models/exported/infer",
        {  # in another order than forward's
            "inputs": [
                {"name": "n", "shape": [2, 1], "datatype": "INT64", "data": [2, 3]},
                {"name": "x", "shape": [2, 4], "datatype": "FP32", "data": ROWS},
            ],
            "outputs": [{"name": "total"}],
        },
    )
    assert status == 200
    [out] = body["outputs"]
    assert out["name"] == "total"
    np.testing.assert_allclose(out["data"], want["total"], rtol=1e-6)
    status, body = post(
        served,
        "/v1/models/exported:predict",
        {"instances": [{"x": ROWS[0], "n": [2]}, {"x": ROWS[1], "n": [3]}]},
    )
    assert status == 200
    np.testing.assert_allclose([p["y"] for p in body["predictions"]], want["y"], rtol=1e-6)
    np.testing.assert_allclose([p["total"] for p in body["predictions"]], want["total"], rtol=1e-6)


@pytest.mark.parametrize(
    ("model", "body", "reason"),
    [
        (
            "exported",
            {
                "inputs": [
                    {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]},
                    {"name": "n", "shape": [1, 1], "datatype": "FP64", "data": [2.5]},
                ]
            },
            "input 'n': datatype FP64 does not match the model's INT64",
        ),
        (
            "exported",
            {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]}]},
            "model exported takes 2 input(s) ['x', 'n']; the request has 1: ['x']",
        ),
        (
            "plain",
            {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
            "model plain: addmm: mat1 and mat2 shapes cannot be multiplied (1x3 and 4x3)",
        ),
        (
            "plain",
            {"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["a"]}]},
            "input 'x': BYTES cannot feed a torch model",
        ),
        (
            "plain",
            {
                "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]}],
                "outputs": [{"name": "probabilities"}],
            },
            "Unexpected inference output 'probabilities' for model 'plain'",
        ),
    ],
)
def test_bad_input_is_a_400_naming_it(served: Any, model: str, body: Any, reason: str) -> None:
    status, answer = post(served, f"/v2/models/{model}/infer", body)
    assert (status, answer["error"]) == (400, reason)


def test_torchserve_store_serves_the_snapshot_model(served: Any, classifier: Any) -> None:
    status, body = post(served, "/v1/models/mnist:predict", {"instances": ROWS})
    assert status == 200
    np.testing.assert_allclose(
        body["predictions"], forward(classifier, torch.tensor(ROWS)).numpy(), rtol=1e-6
    )
    status, _, _ = call(served, "/v2/models/ts/ready")
    assert status == 404  # the store's models are served under their own names, as TorchServe


def test_an_archive_is_unpacked_apart_and_removed_on_unload(store: Path) -> None:
    [spec] = repository.discover(ModelSpec(name="ts", model_dir=store / "ts", framework="pytorch"))
    model = pytorch.create(spec)
    model.load()
    unpacked = model._unpacked  # type: ignore[attr-defined]
    assert unpacked is not None and (unpacked / "model.pt").is_file()
    assert sorted(p.name for p in (store / "ts" / "model-store").iterdir()) == ["mnist.mar"]
    model.unload()
    assert not unpacked.exists()


def test_a_pickle_is_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    (tmp_path / "model").mkdir()
    torch.save({"weights": Pickled(marker)}, str(tmp_path / "model" / "model.pt"))
    model = pytorch.create(
        ModelSpec(name="eager", model_dir=tmp_path / "model", framework="pytorch")
    )
    with pytest.raises(
        ModelLoadError,
        match=r"model.pt is not a TorchScript archive \(.*\); a model "
        r"saved with torch.save needs its Python class and is not loaded",
    ):
        model.load()
    assert not marker.exists()


def torchserve_store(root: Path, classifier: Any, **kwargs: Any) -> Path:
    (root / "model-store").mkdir(parents=True)
    mar(root / "model-store" / "mnist.mar", torch.jit.script(classifier), **kwargs)
    return root


async def test_a_custom_handler_fails_the_load_naming_it(tmp_path: Path, classifier: Any) -> None:
    """What the controller shows: the server exits 1 and its termination message (which the
    InferenceService's ModelLoadFailed condition carries) names the handler."""
    root = torchserve_store(
        tmp_path / "ts",
        classifier,
        handler="mnist_handler.py",
        extra={"mnist_handler.py": b"raise SystemExit('archive code ran')\n"},
    )
    log = tmp_path / "termination-log"
    log.touch()
    settings = ServerSettings(host="127.0.0.1", http_port=0, termination_log=log)
    specs = repository.discover(ModelSpec(name="ts", model_dir=root, framework="pytorch"))
    running = await server.start(settings, models=specs)
    assert await running.wait() == 1
    assert log.read_text().startswith(
        "model mnist: ModelLoadError: mnist.mar: the custom handler 'mnist_handler.py' is Python "
        "this runtime does not run; it serves TorchScript and torch.export models on tensors"
    )


def test_a_builtin_handler_is_named_too(tmp_path: Path, classifier: Any) -> None:
    root = torchserve_store(tmp_path / "ts", classifier, handler="image_classifier")
    [spec] = repository.discover(ModelSpec(name="ts", model_dir=root, framework="pytorch"))
    with pytest.raises(ModelLoadError, match="TorchServe's built-in handler 'image_classifier'"):
        pytorch.create(spec).load()


def test_an_archive_escaping_its_directory_is_refused(tmp_path: Path, classifier: Any) -> None:
    root = torchserve_store(
        tmp_path / "ts", classifier, handler="base_handler", extra={"../../escaped.txt": b"x"}
    )
    [spec] = repository.discover(ModelSpec(name="ts", model_dir=root, framework="pytorch"))
    with pytest.raises(ModelLoadError, match=r"\.\./\.\./escaped\.txt.*outside"):
        pytorch.create(spec).load()
    assert not list(tmp_path.rglob("escaped.txt"))
