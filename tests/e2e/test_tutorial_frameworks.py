"""Upstream's TensorFlow and ONNX samples on the cluster: their YAML selects
kserve-tensorflow-serving and kserve-tritonserver, the models (made here, laid out as upstream's
buckets are, in the GCS emulator) load, and the samples' request bodies get answers through
`kubectl port-forward`."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from e2e_kube import Cli, port_forward
from e2e_steps import FIXTURES, Applied, Install, apply_and_wait
from e2e_timeline import Timeline
from onnx import TensorProto, helper, numpy_helper

from conftest import FIXTURE_NS

NS = "frameworks"
BUCKET = "kfserving-examples"
EMULATOR = f"http://gcs-emulator.{FIXTURE_NS}.svc.cluster.local:9023"
TF_IMAGE = "registry.kserve-py.test/kserve-py/model-server-tensorflow:0.1.0"
# Builds a flowers-like SavedModel (image_bytes + key → scores, prediction, key) with the
# TensorFlow image and uploads it as gs://kfserving-examples/models/tensorflow/flowers/0001/...
MAKE_FLOWERS = """
import os, urllib.request
import numpy as np, tensorflow as tf

class Flowers(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes"),
                                  tf.TensorSpec([None], tf.string, name="key")])
    def serve(self, image_bytes, key):
        def mean(data):
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            return tf.reduce_mean(tf.cast(image, tf.float32), axis=[0, 1]) / 255.0
        scores = tf.nn.softmax(4.0 * tf.map_fn(mean, image_bytes, fn_output_signature=tf.float32))
        return {"scores": scores, "prediction": tf.argmax(scores, axis=1), "key": key}

module = Flowers()
out = "/tmp/flowers/0001"
tf.saved_model.save(module, out, signatures={"serving_default": module.serve})
for folder, _, files in os.walk(out):
    for name in files:
        path = os.path.join(folder, name)
        key = "models/tensorflow/flowers/0001/" + os.path.relpath(path, out)
        url = EMULATOR + "/upload/storage/v1/b/BUCKET/o?uploadType=media&name=" + key
        with open(path, "rb") as handle:
            urllib.request.urlopen(urllib.request.Request(url, data=handle.read(), method="POST"))
        print("uploaded", key)
""".replace("EMULATOR + ", f"{EMULATOR!r} + ").replace("BUCKET", BUCKET)


def flowers_job() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "make-flowers", "namespace": FIXTURE_NS},
        "spec": {
            "backoffLimit": 2,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
                    "containers": [
                        {
                            "name": "make",
                            "image": TF_IMAGE,
                            "command": ["python3", "-c", MAKE_FLOWERS],
                            "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                }
            },
        },
    }


def style_model() -> bytes:
    """input1 [1,3,H,W] → output1 = input1 * 0.5 + 0.25, under the style model's tensor names."""
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["input1", "half"], ["scaled"]),
            helper.make_node("Add", ["scaled", "quarter"], ["output1"]),
        ],
        "style",
        [helper.make_tensor_value_info("input1", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("output1", TensorProto.FLOAT, [1, 3, "H", "W"])],
        initializer=[
            numpy_helper.from_array(np.asarray(0.5, np.float32), "half"),
            numpy_helper.from_array(np.asarray(0.25, np.float32), "quarter"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    return bytes(model.SerializeToString())


def png(rgb: tuple[int, int, int]) -> bytes:
    """A 2x2 PNG of one color (zlib + the PNG chunks; no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * 2
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * 2))
        + chunk(b"IEND", b"")
    )


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture(scope="module")
def models_uploaded(
    cli: Cli, environment_ready: None, timeline: Timeline, tmp_path_factory: pytest.TempPathFactory
) -> None:
    t0 = time.monotonic()
    job = tmp_path_factory.mktemp("frameworks") / "job.json"
    job.write_text(json.dumps(flowers_job()))
    cli.kubectl("delete", "job", "make-flowers", "-n", FIXTURE_NS, "--ignore-not-found")
    cli.kubectl("apply", "-f", str(job))
    with port_forward(cli, FIXTURE_NS, "svc/gcs-emulator", 9023) as port:
        url = (
            f"http://127.0.0.1:{port}/upload/storage/v1/b/{BUCKET}/o"
            "?uploadType=media&name=models/onnx/model.onnx"
        )
        request = urllib.request.Request(url, data=style_model(), method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
    cli.kubectl(
        "wait", "--for=condition=complete", "job/make-flowers", "-n", FIXTURE_NS, "--timeout=600s"
    )
    timeline.add("frameworks: models made and uploaded", time.monotonic() - t0)


@pytest.fixture(scope="module")
def flowers(cli: Cli, kserve: Install, models_uploaded: None) -> Iterator[Applied]:
    yield apply_and_wait(
        cli, FIXTURES / "tensorflow.yaml", name="flower-sample", namespace=NS, what="tensorflow"
    )


@pytest.fixture(scope="module")
def style(cli: Cli, kserve: Install, models_uploaded: None) -> Iterator[Applied]:
    yield apply_and_wait(
        cli, FIXTURES / "onnx.yaml", name="style-sample", namespace=NS, what="onnx"
    )
    cli.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false", check=False)


def test_tensorflow_sample_selects_tf_serving_and_answers_the_flowers_body(
    cli: Cli, flowers: Applied
) -> None:
    status = flowers.ready["status"]
    assert status.get("clusterServingRuntimeName") == "kserve-tensorflow-serving", status
    assert status.get("components", {}).get("predictor"), status
    red, blue = png((250, 10, 10)), png((10, 10, 250))
    body = {  # upstream's flower_input.json shape, with our own images
        "instances": [
            {"image_bytes": {"b64": base64.b64encode(red).decode()}, "key": "   1"},
            {"image_bytes": {"b64": base64.b64encode(blue).decode()}, "key": "   2"},
        ]
    }
    with port_forward(cli, NS, "svc/flower-sample-predictor", 80) as port:
        code, got = post(f"http://127.0.0.1:{port}/v1/models/flower-sample:predict", body)
        assert code == 200, got
        assert [p["prediction"] for p in got["predictions"]] == [0, 2]
        assert [p["key"] for p in got["predictions"]] == ["   1", "   2"]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/v1/models/flower-sample", timeout=30
        ) as response:
            state = json.loads(response.read())["model_version_status"][0]
        assert (state["version"], state["state"]) == ("1", "AVAILABLE")


def test_onnx_sample_selects_triton_and_answers_v2(cli: Cli, style: Applied) -> None:
    status = style.ready["status"]
    assert status.get("clusterServingRuntimeName") == "kserve-tritonserver", status
    assert status.get("components", {}).get("predictor"), status
    image = np.linspace(0, 1, 3 * 4 * 4, dtype=np.float32).reshape(1, 3, 4, 4)
    body = {
        "inputs": [
            {"name": "input1", "shape": [1, 3, 4, 4], "datatype": "FP32", "data": image.tolist()}
        ]
    }
    with port_forward(cli, NS, "svc/style-sample-predictor", 80) as port:
        code, meta = 0, None
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/v2/models/style-sample", timeout=30
        ) as response:
            code, meta = response.status, json.loads(response.read())
        assert code == 200 and meta["inputs"][0]["name"] == "input1", meta
        code, got = post(f"http://127.0.0.1:{port}/v2/models/style-sample/infer", body)
    assert code == 200, got
    (output,) = got["outputs"]
    assert (output["name"], output["shape"], output["datatype"]) == (
        "output1",
        [1, 3, 4, 4],
        "FP32",
    )
    np.testing.assert_allclose(output["data"], (image * 0.5 + 0.25).reshape(-1), rtol=1e-6)
