"""Each image runs under Docker as its non-root user and does its job; the registry holds all."""

from __future__ import annotations

import functools
import http.server
import json
import os
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from imagekit import (
    ALL_IMAGES,
    PYTHON_IMAGES,
    REGISTRY,
    TAG,
    Container,
    docker,
    free_port,
    http_json,
    image,
    wait_until,
)

IRIS_ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


def registry_get(path: str) -> object:
    with urllib.request.urlopen(f"http://{REGISTRY}{path}", timeout=5) as resp:
        return json.loads(resp.read())


def test_registry_lists_every_image_with_our_tag() -> None:
    catalog = registry_get("/v2/_catalog?n=1000")
    assert isinstance(catalog, dict)
    for name in ALL_IMAGES:
        assert f"kserve-py/{name}" in catalog["repositories"]
        tags = registry_get(f"/v2/kserve-py/{name}/tags/list")
        assert isinstance(tags, dict) and TAG in tags["tags"], f"{name}: {tags}"


def test_registry_holds_both_charts_as_oci_artifacts() -> None:
    catalog = registry_get("/v2/_catalog?n=1000")
    assert isinstance(catalog, dict)
    for chart in ("kserve-crd", "kserve"):
        assert f"charts/{chart}" in catalog["repositories"], f"chart {chart} not pushed"


@pytest.mark.parametrize("name", PYTHON_IMAGES)
def test_image_runs_as_uid_1000_without_pip_or_compiler(name: str) -> None:
    script = (
        "id -u; id -g; echo tools: $(command -v pip pip3 gcc cc make); python3 -m pip 2>&1 || true"
    )
    out = docker(
        "run", "--rm", "--network", "none", "--entrypoint", "sh", image(name), "-c", script
    )
    lines = out.stdout.splitlines()
    assert lines[:2] == ["1000", "1000"], out.stdout
    assert lines[2] == "tools:", f"build tools in {name}: {lines[2]}"
    assert "No module named pip" in out.stdout


def test_pause_exits_zero_on_sigterm(run_detached: Callable[..., Container]) -> None:
    box = run_detached(image("pause"), options=("--network", "none"))
    assert box.running()
    docker("stop", "-t", "5", box.name)
    code = docker("inspect", "-f", "{{.State.ExitCode}}", box.name).stdout.strip()
    assert code == "0"


def test_coredns_has_the_plugins_the_cluster_uses() -> None:
    out = docker("run", "--rm", "--network", "none", image("coredns"), "-plugins")
    for plugin in (
        "kubernetes",
        "forward",
        "cache",
        "errors",
        "health",
        "ready",
        "loop",
        "reload",
        "hosts",
    ):
        assert plugin in out.stdout.split(), f"{plugin} missing:\n{out.stdout}"


def test_metrics_server_is_the_pinned_build_running_as_uid_1000() -> None:
    versions = (Path(__file__).resolve().parents[2] / "hack/versions.env").read_text()
    pinned = next(
        line.split("=", 1)[1]
        for line in versions.splitlines()
        if line.startswith("METRICS_SERVER_VERSION=")
    )
    out = docker("run", "--rm", "--network", "none", image("metrics-server"), "--version")
    assert out.stdout.strip() == pinned
    user = docker("image", "inspect", "-f", "{{.Config.User}}", image("metrics-server"))
    assert user.stdout.strip() == "1000:1000"


def test_traefik_is_the_pinned_build_running_as_non_root() -> None:
    versions = (Path(__file__).resolve().parents[2] / "hack/versions.env").read_text()
    pinned = next(
        line.split("=", 1)[1]
        for line in versions.splitlines()
        if line.startswith("TRAEFIK_VERSION=")
    )
    out = docker("run", "--rm", "--network", "none", image("traefik"), "version")
    fields = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    assert fields["Version"].strip() == pinned, out.stdout
    user = docker("image", "inspect", "-f", "{{.Config.User}}", image("traefik"))
    assert user.stdout.strip() == "65532:65532"


def _pinned(key: str) -> str:
    versions = (Path(__file__).resolve().parents[2] / "hack/versions.env").read_text()
    return next(
        line.split("=", 1)[1] for line in versions.splitlines() if line.startswith(f"{key}=")
    )


def test_keda_holds_the_operator_and_the_metrics_server_running_as_non_root() -> None:
    # one image, two Deployments (hack/cluster/keda.yaml): each names its binary
    for binary, flag in (("/keda", "--cert-dir"), ("/keda-adapter", "--secure-port")):
        out = docker(
            "run", "--rm", "--network", "none", "--entrypoint", binary, image("keda"), "--help",
            check=False,
        )  # fmt: skip
        assert flag in out.stdout + out.stderr, f"{binary} --help:\n{out.stdout}{out.stderr}"
    user = docker("image", "inspect", "-f", "{{.Config.User}}", image("keda"))
    assert user.stdout.strip() == "65532:65532"


def test_prometheus_is_the_pinned_build_and_scrapes_itself(
    tmp_path: Path, run_detached: Callable[..., Container]
) -> None:
    module = _pinned("PROMETHEUS_VERSION")  # v0.3XY.Z is Prometheus 3.XY.Z
    minor, patch = module.removeprefix("v0.").split(".")
    out = docker("run", "--rm", "--network", "none", image("prometheus"), "--version")
    assert out.stdout.startswith(f"prometheus, version 3.{int(minor) - 300}.{patch} "), out.stdout
    user = docker("image", "inspect", "-f", "{{.Config.User}}", image("prometheus"))
    assert user.stdout.strip() == "65534:65534"
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {"job_name": "self", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        ],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    tmp_path.chmod(0o755)
    box = run_detached(
        image("prometheus"),
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/data",
        f"--web.listen-address=127.0.0.1:{port}",
        options=("-v", f"{tmp_path}:/etc/prometheus:ro", "--tmpfs", "/data:mode=1777"),
    )
    url = f"http://127.0.0.1:{port}/api/v1/query?query=up%7Bjob%3D%22self%22%7D"

    def scraped() -> bool:
        assert box.running(), f"prometheus exited:\n{box.logs()}"
        try:
            _, body = http_json(url)
        except OSError:
            return False
        assert isinstance(body, dict)
        return [r["value"][1] for r in body["data"]["result"]] == ["1"]

    wait_until(scraped, what="prometheus to scrape itself", timeout=60)


def test_controller_prints_its_version() -> None:
    out = docker("run", "--rm", "--network", "none", image("controller"), "--version")
    assert out.stdout.strip() == f"kserve-controller {TAG}"


class _Model(http.server.BaseHTTPRequestHandler):
    """A stand-in model on loopback: answers every POST with one prediction."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"predictions": [1]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_router_answers_readyz_and_runs_a_graph_read_only(
    run_detached: Callable[..., Container],
) -> None:
    model = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    threading.Thread(target=model.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{model.server_address[1]}/v1/models/m:predict"
    graph = {"nodes": {"root": {"routerType": "Sequence", "steps": [{"serviceUrl": url}]}}}
    port = free_port()
    try:
        # read-only root, no capabilities: as the controller's pod securityContext runs it
        box = run_detached(
            image("router"),
            "--graph-json",
            json.dumps(graph),
            "--host=127.0.0.1",
            f"--port={port}",
            options=("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"),
        )

        def ready() -> bool:
            assert box.running(), f"router exited:\n{box.logs()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        wait_until(ready, what="router /readyz")
        status, body = http_json(f"http://127.0.0.1:{port}/", {"instances": [[1, 2]]})
        assert (status, body) == (200, {"predictions": [1]})
    finally:
        model.shutdown()


def test_agent_proxies_to_the_component_as_the_sidecar_runs(
    run_detached: Callable[..., Container],
) -> None:
    # The controller's sidecar: upstream's flags, the component on 127.0.0.1:--component-port.
    model = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    threading.Thread(target=model.serve_forever, daemon=True).start()
    port = free_port()
    try:
        box = run_detached(
            image("agent"),
            "--port",
            str(port),
            "--component-port",
            str(model.server_address[1]),
            "--enable-batcher",
            "--max-batchsize",
            "4",
            "--max-latency",
            "50",
            options=("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"),
        )

        url = f"http://127.0.0.1:{port}/v1/models/m:predict"
        answers: list[tuple[int, object]] = []

        def answered() -> bool:
            assert box.running(), f"agent exited:\n{box.logs()}"
            try:
                answers.append(http_json(url, {"instances": [[1, 2]]}))
            except OSError:
                return False
            return True

        wait_until(answered, what="a prediction through the agent")
        status, body = answers[-1]
        assert status == 200 and isinstance(body, dict), body
        assert body["predictions"] == [1] and "batchId" in body, body
    finally:
        model.shutdown()


def _models_dir(tmp_path: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    return d


def _save_sklearn(d: Path) -> None:
    import joblib
    from sklearn import datasets, svm

    iris = datasets.load_iris()
    joblib.dump(svm.SVC(gamma="scale").fit(iris.data, iris.target), d / "model.joblib")


def _save_xgboost(d: Path) -> None:
    import xgboost
    from sklearn import datasets

    iris = datasets.load_iris()
    dtrain = xgboost.DMatrix(iris.data, label=iris.target)
    params = {"objective": "multi:softmax", "num_class": 3, "max_depth": 3}
    xgboost.train(params, dtrain, num_boost_round=5).save_model(str(d / "model.bst"))


def _save_lightgbm(d: Path) -> None:
    import lightgbm
    from sklearn import datasets

    iris = datasets.load_iris()
    data = lightgbm.Dataset(iris.data, label=iris.target)
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_in_leaf": 5}
    lightgbm.train(params, data, num_boost_round=5).save_model(str(d / "model.bst"))


@pytest.mark.parametrize(
    ("name", "framework", "save"),
    [
        ("model-server", "sklearn", _save_sklearn),
        ("model-server-xgboost", "xgboost", _save_xgboost),
        ("model-server-lightgbm", "lightgbm", _save_lightgbm),
    ],
)
def test_model_server_serves_iris_on_loopback(
    tmp_path: Path,
    run_detached: Callable[..., Container],
    name: str,
    framework: str,
    save: Callable[[Path], None],
) -> None:
    models = _models_dir(tmp_path)
    save(models)
    port = free_port()
    box = run_detached(
        image(name),
        "--model_name=iris",
        "--model_dir=/mnt/models",
        f"--http_port={port}",
        "--grpc_port=0",  # host network: never the fixed 8081 another process may hold
        f"--framework={framework}",
        "--host=127.0.0.1",
        options=("-v", f"{models}:/mnt/models:ro"),
    )

    def ready() -> bool:
        assert box.running(), f"{name} exited:\n{box.logs()}"
        try:
            return http_json(f"http://127.0.0.1:{port}/v1/models/iris")[0] == 200
        except OSError:
            return False

    wait_until(ready, what=f"{name} to load iris", timeout=90)
    status, body = http_json(
        f"http://127.0.0.1:{port}/v1/models/iris:predict", {"instances": IRIS_ROWS}
    )
    assert status == 200
    assert isinstance(body, dict) and len(body["predictions"]) == 2, body
    # classes, or per-class probabilities (LightGBM's multiclass objective)
    classes = [
        max(range(len(p)), key=p.__getitem__) if isinstance(p, list) else int(p)
        for p in body["predictions"]
    ]
    assert classes == [1, 1], body


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A plain HTTP file server on loopback, serving a directory."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_storage_initializer_downloads_into_a_mounted_dir(
    tmp_path: Path, http_files: tuple[Path, int]
) -> None:
    root, port = http_files
    (root / "model.joblib").write_bytes(b"not really a model, but bytes to copy\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    os.chown(dest, 1000, 1000)
    docker(
        "run",
        "--rm",
        "--network",
        "host",
        "-v",
        f"{dest}:/mnt/models",
        image("storage-initializer"),
        f"http://127.0.0.1:{port}/model.joblib",
        "/mnt/models",
    )
    got = dest / "model.joblib"
    assert got.read_bytes() == (root / "model.joblib").read_bytes()
    assert got.stat().st_uid == 1000


def test_gcs_emulator_stores_and_serves_an_object(run_detached: Callable[..., Container]) -> None:
    port = free_port()
    box = run_detached(
        image("gcs-emulator"), f"--port={port}", "--in-memory", "--default-bucket=models"
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert box.running(), box.logs()
        try:
            return http_json(f"{base}/storage/v1/b/models")[0] == 200
        except OSError:
            return False

    wait_until(up, what="the GCS emulator")
    req = urllib.request.Request(
        f"{base}/upload/storage/v1/b/models/o?uploadType=media&name=iris/model.joblib",
        data=b"model bytes",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200
    url = f"{base}/download/storage/v1/b/models/o/iris%2Fmodel.joblib?alt=media"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == b"model bytes"


def test_https_server_serves_files_with_the_mounted_certificate(
    tmp_path: Path, run_detached: Callable[..., Container]
) -> None:
    tls = tmp_path / "tls"
    srv = tmp_path / "srv"
    tls.mkdir()
    srv.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(tls / "tls.key"),
            "-out",
            str(tls / "tls.crt"),
        ],
        check=True,
        capture_output=True,
    )
    os.chmod(tls / "tls.key", 0o644)
    (srv / "model.txt").write_text("hello over tls\n")
    port = free_port()
    box = run_detached(
        image("https-server"),
        "--dir=/srv",
        f"--port={port}",
        "--cert=/tls/tls.crt",
        "--key=/tls/tls.key",
        options=("-v", f"{tls}:/tls:ro", "-v", f"{srv}:/srv:ro"),
    )
    context = ssl.create_default_context(cafile=str(tls / "tls.crt"))

    def get() -> bytes | None:
        assert box.running(), box.logs()
        try:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{port}/model.txt", timeout=5, context=context
            ) as resp:
                return bytes(resp.read())
        except OSError:
            return None

    wait_until(lambda: get() is not None, what="the https server")
    assert get() == b"hello over tls\n"


def _serve(run_detached: Callable[..., Container], name: str, models: Path, *args: str) -> int:
    """Start image `name` on /mnt/models; the port once `/v2/health/ready` answers 200."""
    port = free_port()
    box = run_detached(
        image(name),
        "--model_dir=/mnt/models",
        f"--http_port={port}",
        "--grpc_port=0",
        "--host=127.0.0.1",
        *args,
        # as the runtime's securityContext runs it: read-only root, no capabilities; /tmp is
        # writable (TensorFlow and onnxruntime write there), as an emptyDir would make it
        options=(
            "-v",
            f"{models}:/mnt/models:ro",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--cap-drop",
            "ALL",
        ),
    )

    def ready() -> bool:
        assert box.running(), f"{name} exited:\n{box.logs()}"
        try:
            return http_json(f"http://127.0.0.1:{port}/v2/health/ready")[0] == 200
        except OSError:
            return False

    wait_until(ready, what=f"{name} to load its model", timeout=180)
    return port


def test_onnx_image_serves_an_onnx_model(
    tmp_path: Path, run_detached: Callable[..., Container]
) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.eye(4, 2, dtype=np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        initializer=[weights],
    )
    models = _models_dir(tmp_path)
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10),
        str(models / "model.onnx"),
    )
    port = _serve(run_detached, "model-server-onnx", models, "--model_name=m", "--framework=onnx")
    status, body = http_json(
        f"http://127.0.0.1:{port}/v1/models/m:predict", {"instances": IRIS_ROWS}
    )
    assert status == 200 and body == {"predictions": [[6.8, 2.8], [6.0, 3.4]]}, body


# A SavedModel made by the TensorFlow image itself (the test venv has no TensorFlow).
SAVE_TF_MODEL = """
import sys, tensorflow as tf
class M(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        return {"total": tf.reduce_sum(x, axis=1)}
m = M()
tf.saved_model.save(m, sys.argv[1], signatures={"serving_default": m.serve})
"""


def test_tensorflow_image_serves_a_saved_model_as_tf_serving(
    tmp_path: Path, run_detached: Callable[..., Container]
) -> None:
    models = _models_dir(tmp_path)
    models.chmod(0o777)  # written by the image's uid 1000
    docker(
        "run", "--rm", "--network", "none", "--tmpfs", "/tmp", "-v", f"{models}:/out",
        "--entrypoint", "python3", image("model-server-tensorflow"),
        "-c", SAVE_TF_MODEL, "/out/1",
    )  # fmt: skip
    port = _serve(
        run_detached, "model-server-tensorflow", models, "--model_name=tf", "--framework=tensorflow"
    )
    status, body = http_json(
        f"http://127.0.0.1:{port}/v1/models/tf:predict", {"instances": IRIS_ROWS}
    )
    assert status == 200, body
    assert body == {"predictions": [pytest.approx(15.8), pytest.approx(15.5)]}, body
    status, body = http_json(f"http://127.0.0.1:{port}/v1/models/tf")
    assert status == 200
    assert body["model_version_status"][0]["state"] == "AVAILABLE", body


# A TorchScript model, a torch.export program and a tiny GPT-2 made by the torch image itself
# (the test venv has no torch), with their own answers for the rows sent.
SAVE_TORCH_MODELS = """
import json, sys, torch, transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
out = sys.argv[1]
torch.manual_seed(0)
linear = torch.nn.Linear(4, 3).eval()
torch.jit.trace(linear, torch.zeros(1, 4)).save(f"{out}/scripted/model.pt")
program = torch.export.export(linear, (torch.zeros(2, 4),),
                              dynamic_shapes=({0: torch.export.Dim("batch")},))
torch.export.save(program, f"{out}/exported/model.pt2")
rows = torch.tensor(json.loads(sys.argv[2]))
with torch.inference_mode():
    expected = linear(rows).tolist()
raw = Tokenizer(models.BPE())
raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
raw.decoder = decoders.ByteLevel()
raw.train_from_iterator(["hello world, the model server answers"] * 20, trainer=trainers.BpeTrainer(
    vocab_size=300, special_tokens=["<|endoftext|>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tok = transformers.PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>")
tok.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
gpt = transformers.GPT2LMHeadModel(transformers.GPT2Config(
    vocab_size=len(tok), n_positions=32, n_embd=16, n_layer=1, n_head=2,
    bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)).eval()
gpt.save_pretrained(f"{out}/gpt"); tok.save_pretrained(f"{out}/gpt")
ids = tok("hello world")["input_ids"]
with torch.inference_mode():
    new = gpt.generate(torch.tensor([ids]), max_new_tokens=4, do_sample=False,
                       pad_token_id=tok.eos_token_id)[0, len(ids):].tolist()
if tok.eos_token_id in new:
    new = new[: new.index(tok.eos_token_id)]
json.dump({"linear": expected, "completion": tok.decode(new, skip_special_tokens=True)},
          open(f"{out}/expected.json", "w"))
"""


def test_torch_image_serves_torchscript_export_and_huggingface(
    tmp_path: Path, run_detached: Callable[..., Container]
) -> None:
    models = _models_dir(tmp_path)
    for sub in ("scripted", "exported", "gpt"):
        (models / sub).mkdir()
    for d in (models, *models.iterdir()):
        d.chmod(0o777)  # written by the image's uid 1000
    docker(
        "run", "--rm", "--network", "none", "--tmpfs", "/tmp", "-v", f"{models}:/out",
        "--entrypoint", "python3", image("model-server-torch"),
        "-c", SAVE_TORCH_MODELS, "/out", json.dumps(IRIS_ROWS), timeout=300,
    )  # fmt: skip
    expected = json.loads((models / "expected.json").read_text())
    for sub in ("scripted", "exported"):
        port = _serve(
            run_detached,
            "model-server-torch",
            models / sub,
            "--model_name=m",
            "--framework=pytorch",
        )
        status, body = http_json(
            f"http://127.0.0.1:{port}/v1/models/m:predict", {"instances": IRIS_ROWS}
        )
        assert status == 200, body
        assert body == {"predictions": [pytest.approx(r, rel=1e-5) for r in expected["linear"]]}
    port = _serve(
        run_detached, "model-server-torch", models / "gpt", "--model_name=gpt",
        "--framework=huggingface",
    )  # fmt: skip
    status, body = http_json(
        f"http://127.0.0.1:{port}/openai/v1/completions",
        {"model": "gpt", "prompt": "hello world", "max_tokens": 4, "temperature": 0},
        timeout=60,
    )
    assert status == 200, body
    assert body["choices"][0]["text"] == expected["completion"], body
