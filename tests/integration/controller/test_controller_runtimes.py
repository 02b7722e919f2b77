"""Upstream's InferenceServices for TensorFlow, ONNX, Triton, PyTorch and Hugging Face resolve
to the runtime they get upstream, among the chart's ClusterServingRuntimes, on a real apiserver
(issues 15 and 16)."""

from __future__ import annotations

from typing import Any

import pytest
from controller_env import wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

TF_URI = "gs://kfserving-examples/models/tensorflow/flowers"
ONNX_URI = "gs://kfserving-examples/models/onnx"
TORCH_URI = "gs://kfserving-examples/models/torchserve/image_classifier/v1"
# (isvc name, spec.predictor as a user writes it, the runtime upstream selects)
MAPPING = [
    (
        "tf-format",
        {"model": {"modelFormat": {"name": "tensorflow"}, "storageUri": TF_URI}},
        "kserve-tensorflow-serving",
    ),
    ("tf-shorthand", {"tensorflow": {"storageUri": TF_URI}}, "kserve-tensorflow-serving"),
    ("onnx-shorthand", {"onnx": {"storageUri": ONNX_URI}}, "kserve-tritonserver"),
    ("triton-shorthand", {"triton": {"storageUri": ONNX_URI}}, "kserve-tritonserver"),
    (
        "onnx-v1",
        {"model": {"modelFormat": {"name": "onnx"}, "storageUri": ONNX_URI}},
        "kserve-onnxruntime",
    ),
    (
        "onnx-v2",
        {
            "model": {
                "modelFormat": {"name": "onnx"},
                "protocolVersion": "v2",
                "storageUri": ONNX_URI,
            }
        },
        "kserve-tritonserver",
    ),
    ("pytorch-shorthand", {"pytorch": {"storageUri": TORCH_URI}}, "kserve-torchserve"),
    (
        "pytorch-v2",
        {
            "model": {
                "modelFormat": {"name": "pytorch"},
                "protocolVersion": "v2",
                "storageUri": TORCH_URI,
            }
        },
        "kserve-torchserve",
    ),
    (  # named explicitly: allowed (upstream lists pytorch there); the model server says why not
        "pytorch-on-triton",
        {
            "model": {
                "modelFormat": {"name": "pytorch"},
                "protocolVersion": "v2",
                "runtime": "kserve-tritonserver",
                "storageUri": TORCH_URI,
            }
        },
        "kserve-tritonserver",
    ),
    (
        "hf-format",
        {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": "hf://org/tiny-gpt2"}},
        "kserve-huggingfaceserver",
    ),
]


async def _runtime_named(admin: Kube, ns: str, name: str) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", ns, name)
    return obj if ((obj or {}).get("status") or {}).get("clusterServingRuntimeName") else None


async def test_upstream_formats_select_upstreams_runtimes(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    for name, predictor, _ in MAPPING:
        await admin.create(
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"predictor": predictor},
            }
        )
    got = {}
    for name, _, _ in MAPPING:
        obj = await wait_for(
            lambda n=name: _runtime_named(admin, namespace, n), what=f"{name}'s runtime"
        )
        got[name] = obj["status"]["clusterServingRuntimeName"]
        deploy = await admin.get("Deployment", namespace, f"{name}-predictor")
        assert deploy is not None, f"{name}: no Deployment"
    assert got == {name: runtime for name, _, runtime in MAPPING}
