"""Private S3/GCS models: the user's ServiceAccount and Secrets, unchanged, on a real apiserver.

The controller runs with the chart's RBAC (its ServiceAccount token), so a missing verb on
serviceaccounts or secrets fails here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import kubernetes.client
import pytest
from controller_env import Installed, cond, isvc, wait_for

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

    # the event is recorded while credentials are looked up, before the Deployment is applied
    async def _deployed() -> dict[str, Any] | None:
        return await admin.get("Deployment", ns, "late-predictor")

    await wait_for(_deployed, what="the Deployment despite the missing Secret")
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


@pytest.fixture
def old_rbac_kubeconfig(installed: Installed, tmp_path: Path) -> Path:
    """A token with the chart's RBAC minus service accounts and Secrets (an older chart)."""
    rbac = kubernetes.client.RbacAuthorizationV1Api(installed.apiserver.client)
    core = kubernetes.client.CoreV1Api(installed.apiserver.client)
    name = f"old-controller-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_service_account("kserve", {"metadata": {"name": name}})
    role = rbac.read_cluster_role("kserve-manager-role")
    rules = [r for r in role.rules if not {"serviceaccounts", "secrets"} & set(r.resources or [])]
    rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
    subject = {"kind": "ServiceAccount", "name": name, "namespace": "kserve"}
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [subject],
        }
    )
    token = installed.apiserver.service_account_token("kserve", name)
    return installed.apiserver.write_kubeconfig(tmp_path / "old.kubeconfig", token=token)


async def test_controller_with_an_older_charts_rbac_serves_and_says_what_is_missing(
    start_controller: Any,
    admin: Kube,
    namespace: str,
    old_rbac_kubeconfig: Path,
    caplog: Any,
) -> None:
    caplog.set_level(logging.INFO, logger="kserve_controller")
    kubeconfig = old_rbac_kubeconfig
    await admin.create(s3_secret(namespace, MINIO))
    await admin.create(account(namespace, "s3creds"))
    run = await start_controller(kubeconfig=str(kubeconfig), leader_elect=False)
    await asyncio.wait_for(run.settled(), 60)  # no hang waiting for a forbidden cache
    await admin.create(
        isvc("old", namespace, storage_uri="s3://models/iris", serviceAccountName="models")
    )
    await wait_for(lambda: admin.get("Deployment", namespace, "old-predictor"), what="Deployment")
    init, _ = await _initializer(admin, namespace, "old")
    assert init["args"] == ["s3://models/iris", "/mnt/models"]
    assert "AWS_ACCESS_KEY_ID" not in _env(init)  # served without credentials

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, errors  # the watch at start, the first pass's read: once each
    assert "may not list and watch serviceaccounts" in errors[0]
    assert '"serviceaccounts"' in errors[0] and "list" in errors[0]  # the apiserver's words
    assert "cannot read storage credentials" in errors[1] and "serviceaccounts" in errors[1]
    for message in errors:
        assert "upgrade the kserve chart" in message.lower()

    # A second InferenceService: served too, and nothing more is logged at ERROR.
    await admin.create(isvc("old2", namespace, storage_uri="gs://models/iris"))
    await wait_for(lambda: admin.get("Deployment", namespace, "old2-predictor"), what="old2")
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 2


async def test_a_hugging_face_model_gets_the_hf_token_of_its_service_account(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hf-creds", "namespace": namespace},
            "stringData": {"HF_TOKEN": "hf_integration_token_0001"},
        }
    )
    await admin.create(account(namespace, "hf-creds"))
    await start_controller()
    uri = "hf://Qwen/Qwen2-0.5B-Instruct:main"
    await admin.create(isvc("qwen", namespace, storage_uri=uri, serviceAccountName="models"))
    await wait_for(lambda: admin.get("Deployment", namespace, "qwen-predictor"), what="Deployment")
    init, _ = await _initializer(admin, namespace, "qwen")
    assert init["args"] == [uri, "/mnt/models"]
    assert _env(init)["HF_TOKEN"] == {"secretKeyRef": {"name": "hf-creds", "key": "HF_TOKEN"}}
    deploy = await admin.get("Deployment", namespace, "qwen-predictor")
    assert "hf_integration_token_0001" not in json.dumps(deploy)


def storage_config(ns: str, **entries: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "storage-config", "namespace": ns},
        "stringData": {k: json.dumps(v) for k, v in entries.items()},
    }


def storage_isvc(name: str, ns: str, storage: dict[str, Any]) -> dict[str, Any]:
    raw = isvc(name, ns)
    model = raw["spec"]["predictor"]["model"]
    del model["storageUri"]
    model["storage"] = storage
    return raw


MINIO_ENTRY = {
    "type": "s3",
    "access_key_id": KEY_ID,
    "secret_access_key": SECRET_KEY,
    "endpoint_url": "http://minio.minio:9000",
    "bucket": "mlpipeline",
}


async def test_a_storage_spec_reads_its_entry_of_the_storage_config_secret(
    start_controller: Any, admin: Kube, namespace: str, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="kserve_controller")
    ns = namespace
    await admin.create(storage_config(ns, localMinIO=MINIO_ENTRY))
    run = await start_controller()
    storage = {"key": "localMinIO", "path": "/sklearn/iris", "parameters": {"region": "eu"}}
    await admin.create(storage_isvc("spec", ns, storage))

    await wait_for(lambda: admin.get("Deployment", ns, "spec-predictor"), what="the Deployment")
    init, pod = await _initializer(admin, ns, "spec")
    assert init["args"] == ["s3://mlpipeline/sklearn/iris", "/mnt/models"]
    assert _env(init) == {
        "STORAGE_CONFIG": {"secretKeyRef": {"name": "storage-config", "key": "localMinIO"}},
        "STORAGE_OVERRIDE_CONFIG": '{"region":"eu"}',
    }
    assert pod.get("serviceAccountName") is None  # the service-account path is not taken
    await run.settled()

    deploy = await admin.get("Deployment", ns, "spec-predictor")
    events = await admin.items("Event", ns)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for where in (json.dumps(deploy), json.dumps(events), logged):
        for value in (KEY_ID, SECRET_KEY):
            assert value not in where


async def test_a_missing_storage_config_is_a_condition_until_it_exists(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(resync_seconds=1)
    await admin.create(storage_isvc("waiting", ns, {"key": "team", "path": "models/iris"}))

    async def _reason() -> str | None:
        got = await admin.get("InferenceService", ns, "waiting")
        return cond(got, "Ready").get("reason")

    assert await wait_for(_reason, what="a Ready reason") == "StorageSecretNotFound"
    got = await admin.get("InferenceService", ns, "waiting")
    assert "Secret storage-config not found" in cond(got, "Ready")["message"]
    assert await admin.get("Deployment", ns, "waiting-predictor") is None
    warnings = [e for e in await admin.items("Event", ns) if e["reason"] == "StorageSecretNotFound"]
    assert warnings and warnings[0]["type"] == "Warning"

    # The wrong key: named as such.
    await admin.create(storage_config(ns, other=MINIO_ENTRY))

    async def _key_reason() -> str | None:
        reason = await _reason()
        return reason if reason == "StorageKeyNotFound" else None

    await wait_for(_key_reason, what="StorageKeyNotFound")

    await admin.patch(
        "Secret", ns, "storage-config", {"stringData": {"team": json.dumps(MINIO_ENTRY)}}
    )
    await wait_for(lambda: admin.get("Deployment", ns, "waiting-predictor"), what="the Deployment")
    init, _ = await _initializer(admin, ns, "waiting")
    assert init["args"][0] == "s3://mlpipeline/models/iris"
