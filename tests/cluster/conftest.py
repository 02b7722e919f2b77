"""One namespace and one model server pod for every cluster smoke test."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import pytest
from cluster_kube import IMAGE, apply, iris_model_bytes, kubectl


@pytest.fixture(scope="session")
def namespace() -> Iterator[str]:
    ns = f"smoke-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    yield ns
    kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="session")
def iris(namespace: str) -> dict[str, object]:
    """The model server as a pod from our image, the iris model from a ConfigMap, a Service.
    The pod carries the metrics annotations our ClusterServingRuntimes give every model server
    pod (charts/kserve), which the cluster's Prometheus scrapes by."""
    apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "iris-model", "namespace": namespace},
            "binaryData": {"model.joblib": base64.b64encode(iris_model_bytes()).decode()},
        }
    )
    apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "iris",
                "namespace": namespace,
                "labels": {"app": "iris"},
                "annotations": {
                    "prometheus.kserve.io/port": "8080",
                    "prometheus.kserve.io/path": "/metrics",
                },
            },
            "spec": {
                "containers": [
                    {
                        "name": "server",
                        "image": IMAGE,
                        "args": [
                            "--model_name=iris",
                            "--model_dir=/mnt/models",
                            "--http_port=8080",
                        ],
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "readinessProbe": {
                            "httpGet": {"path": "/v1/models/iris", "port": 8080},
                            "periodSeconds": 1,
                        },
                        "securityContext": {
                            "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False,
                        },
                        "volumeMounts": [{"name": "model", "mountPath": "/mnt/models"}],
                    }
                ],
                "volumes": [{"name": "model", "configMap": {"name": "iris-model"}}],
            },
        }
    )
    apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "iris", "namespace": namespace},
            "spec": {"selector": {"app": "iris"}, "ports": [{"port": 80, "targetPort": "http"}]},
        }
    )
    kubectl("wait", "-n", namespace, "pod/iris", "--for=condition=Ready", "--timeout=150s")
    pod: dict[str, object] = json.loads(kubectl("get", "-n", namespace, "pod/iris", "-o", "json"))
    return pod
