"""`logger` and `batcher` on a real apiserver with both charts installed: our runtimes (the
chart's, annotated) take upstream's agent flags in process, a custom container gets the
`agent` sidecar the ConfigMap names, and removing the logger removes the sidecar."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from controller_env import cond, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

AGENT_IMAGE = "registry.kserve-py.test/kserve-py/agent:0.1.0"  # the chart's, by default
CUSTOM = {
    "containers": [
        {
            "name": "kserve-container",
            "image": "example.test/server:1.0",
            "ports": [{"containerPort": 9000, "name": "http1", "protocol": "TCP"}],
        }
    ]
}


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


async def _containers(admin: Kube, ns: str, name: str, count: int) -> list[Any] | None:
    deploy = await admin.get("Deployment", ns, name)
    found = deploy["spec"]["template"]["spec"]["containers"] if deploy else []
    return found if len(found) == count else None


async def _target_port(admin: Kube, ns: str, name: str, port: int) -> dict[str, Any] | None:
    svc = await admin.get("Service", ns, name)
    return svc if svc and svc["spec"]["ports"][0]["targetPort"] == port else None


async def test_our_runtime_logs_and_batches_in_process_with_storage_credentials(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    key = base64.b64encode(b'{"type": "service_account"}').decode()
    await admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "log-gcs", "namespace": namespace},
            "data": {"gcloud-application-credentials.json": key},
        }
    )
    await admin.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "logger-sa", "namespace": namespace},
            "secrets": [{"name": "log-gcs"}],
        }
    )
    await start_controller()
    logger = {
        "mode": "all",
        "url": "gs://logs",
        "storage": {"path": "/iris", "parameters": {"format": "json"}, "key": "default"},
    }
    body = isvc("logged", namespace, logger=logger, batcher={"maxBatchSize": 16, "maxLatency": 300})
    await admin.create(body)

    (main,) = await wait_for(
        lambda: _containers(admin, namespace, "logged-predictor", 1), what="the predictor"
    )
    args = main["args"]
    assert args[:4] == ["--model_name=logged", "--model_dir=/mnt/models", "--http_port=8080",
                        "--framework=sklearn"]  # fmt: skip
    assert flag(args, "--max-batchsize") == "16" and flag(args, "--max-latency") == "300"
    assert flag(args, "--log-url") == "gs://logs" and flag(args, "--log-store-path") == "/iris"
    assert flag(args, "--source-uri") == "$(POD_NAME)"
    env = {e["name"]: e for e in main["env"]}
    key_file = "/var/secrets/gcloud-application-credentials.json"
    assert env["GOOGLE_APPLICATION_CREDENTIALS"]["value"] == key_file
    assert await _target_port(admin, namespace, "logged-predictor", 8080)

    await make_available(admin, namespace, "logged-predictor")
    got = await wait_for(
        lambda: _ready(admin, namespace, "logged"), what="Ready (no NotSupported for the logger)"
    )
    assert cond(got, "PredictorReady")["status"] == "True"


async def test_custom_container_gets_the_sidecar_until_the_logger_goes(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    body = isvc("custom", namespace)
    body["spec"]["predictor"] = {**CUSTOM, "logger": {"mode": "request"}}
    await admin.create(body)

    main, sidecar = await wait_for(
        lambda: _containers(admin, namespace, "custom-predictor", 2), what="the agent sidecar"
    )
    assert main["image"] == "example.test/server:1.0"
    assert (sidecar["name"], sidecar["image"]) == ("agent", AGENT_IMAGE)
    args = sidecar["args"]
    assert flag(args, "--log-url") == "http://default-broker"  # the chart's defaultUrl
    assert flag(args, "--log-mode") == "request"
    assert flag(args, "--component-port") == "9000"
    assert sidecar["ports"] == [{"name": "agent-port", "containerPort": 9081, "protocol": "TCP"}]
    assert sidecar["readinessProbe"]["httpGet"]["port"] == 9081
    svc = await wait_for(
        lambda: _target_port(admin, namespace, "custom-predictor", 9081), what="Service → 9081"
    )
    assert svc["spec"]["ports"][0]["port"] == 80

    await admin.patch(
        "InferenceService", namespace, "custom", {"spec": {"predictor": {"logger": None}}}
    )
    (only,) = await wait_for(
        lambda: _containers(admin, namespace, "custom-predictor", 1), what="the sidecar gone"
    )
    assert only["name"] == "kserve-container"
    await wait_for(
        lambda: _target_port(admin, namespace, "custom-predictor", 9000), what="Service → 9000"
    )


async def _ready(admin: Kube, ns: str, name: str) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", ns, name)
    return obj if cond(obj, "Ready").get("status") == "True" else None
