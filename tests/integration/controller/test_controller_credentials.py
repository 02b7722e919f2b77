"""Private S3/GCS models: the user's ServiceAccount and Secrets, unchanged, on a real apiserver.

The controller runs with the chart's RBAC (its ServiceAccount token), so a missing verb on
serviceaccounts or secrets fails here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from controller_env import isvc, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

KEY_ID = "AKIAINTEGRATION00001"
SECRET_KEY = "integration/secret+key/value0000000000001"
GCP_KEY = '{"type": "service_account", "private_key": "PRIVATE-KEY-MATERIAL-0001"}'
MINIO = {
    "serving.kserve.io/s3-endpoint": "minio.minio:9000",
    "serving.kserve.io/s3-usehttps": "0",
    "serving.kserve.io/s3-region": "us-west-2",
}


def s3_secret(ns: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s3creds", "namespace": ns, "annotations": annotations},
        "stringData": {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
    }


def gcs_secret(ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "gcscreds", "namespace": ns},
        "stringData": {"gcloud-application-credentials.json": GCP_KEY},
    }


def account(ns: str, *secrets: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "models", "namespace": ns},
        "secrets": [{"name": s} for s in secrets],
    }


def ref(env: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": "s3creds", "key": key}}}


async def _initializer(admin: Kube, ns: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    deploy = await admin.get("Deployment", ns, f"{name}-predictor")
    assert deploy is not None
    pod = deploy["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    return init, pod


def _env(init: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in init.get("env") or []}


async def test_service_account_secrets_reach_the_storage_initializer(
    start_controller: Any, admin: Kube, namespace: str, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="kserve_controller")
    ns = namespace
    await admin.create(s3_secret(ns, MINIO))
    await admin.create(gcs_secret(ns))
    await admin.create(account(ns, "s3creds"))
    run = await start_controller()  # default resync (10 min): events alone must do it
    await admin.create(
        isvc("private", ns, storage_uri="s3://models/iris", serviceAccountName="models")
    )

    deploy = await wait_for(
        lambda: admin.get("Deployment", ns, "private-predictor"), what="the Deployment"
    )
    init, pod = await _initializer(admin, ns, "private")
    assert pod["serviceAccountName"] == "models"
    env = init["env"]
    assert ref("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID") in env
    assert ref("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY") in env
    assert {
        k: v for k, v in _env(init).items() if k.startswith(("S3_", "AWS_ENDPOINT", "AWS_DEFAULT"))
    } == {
        "S3_USE_HTTPS": "0",
        "S3_ENDPOINT": "minio.minio:9000",
        "AWS_ENDPOINT_URL": "http://minio.minio:9000",
        "AWS_DEFAULT_REGION": "us-west-2",
    }
    assert "user-gcp-sa" not in {v["name"] for v in pod["volumes"]}

    # The user adds the GCS Secret to the service account: the watch on it re-reconciles.
    await admin.patch(
        "ServiceAccount", ns, "models", {"secrets": [{"name": "s3creds"}, {"name": "gcscreds"}]}
    )

    async def _gcs_mounted() -> tuple[dict[str, Any], dict[str, Any]] | None:
        init, pod = await _initializer(admin, ns, "private")
        return (init, pod) if "GOOGLE_APPLICATION_CREDENTIALS" in _env(init) else None

    init, pod = await wait_for(_gcs_mounted, what="GOOGLE_APPLICATION_CREDENTIALS")
    assert _env(init)["GOOGLE_APPLICATION_CREDENTIALS"] == (
        "/var/secrets/gcloud-application-credentials.json"
    )
    assert {"name": "user-gcp-sa", "secret": {"secretName": "gcscreds", "defaultMode": 420}} in pod[
        "volumes"
    ]
    assert {"name": "user-gcp-sa", "mountPath": "/var/secrets", "readOnly": True} in init[
        "volumeMounts"
    ]
    await run.settled()

    # No secret value anywhere a user or an operator can read it: Deployment, logs, events.
    deploy = await admin.get("Deployment", ns, "private-predictor")
    events = await admin.items("Event", ns)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for where in (json.dumps(deploy), json.dumps(events), logged):
        for value in (KEY_ID, SECRET_KEY, "PRIVATE-KEY-MATERIAL-0001"):
            assert value not in where
    assert "Updating deployment private-predictor" in logged


async def test_secret_edits_and_late_secrets_are_picked_up_on_resync(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await admin.create(account(ns, "s3creds"))  # the Secret does not exist yet
    await start_controller(resync_seconds=1)
    await admin.create(
        isvc("late", ns, storage_uri="s3://models/iris", serviceAccountName="models")
    )

    async def _warned() -> list[dict[str, Any]]:
        return [e for e in await admin.items("Event", ns) if e["reason"] == "SecretNotFound"]

    (event,) = await wait_for(_warned, what="a SecretNotFound event")
    assert event["type"] == "Warning"
    assert "Secret s3creds listed by service account models not found" in event["message"]
    init, _ = await _initializer(admin, ns, "late")
    assert "AWS_ACCESS_KEY_ID" not in _env(init)  # deployed anyway: public buckets still work

    await admin.create(s3_secret(ns, MINIO))

    async def _endpoint() -> str | None:
        init, _ = await _initializer(admin, ns, "late")
        return _env(init).get("S3_ENDPOINT")

    assert await wait_for(_endpoint, what="S3_ENDPOINT from the new Secret") == "minio.minio:9000"

    # Editing the Secret's annotation in place (no ServiceAccount change) rolls the pods.
    edited = {**MINIO, "serving.kserve.io/s3-endpoint": "https://s3.example.com"}
    await admin.patch("Secret", ns, "s3creds", {"metadata": {"annotations": edited}})

    async def _moved() -> dict[str, Any] | None:
        init, _ = await _initializer(admin, ns, "late")
        env = _env(init)
        return env if env.get("S3_ENDPOINT") == "s3.example.com" else None

    env = await wait_for(_moved, what="the edited endpoint")
    assert env["AWS_ENDPOINT_URL"] == "https://s3.example.com"
    assert env["S3_USE_HTTPS"] == "1"  # the scheme decides over s3-usehttps
