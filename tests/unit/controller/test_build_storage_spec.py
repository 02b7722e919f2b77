"""`predictor.model.storage`: the storage-config Secret's entry reaches the initializer by
reference, with the parameters and the URI computed from the path, as upstream's webhook."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kserve_controller import build, config, runtimes, spec
from kserve_controller.build.credentials import Sources
from kserve_controller.errors import InvalidSpec, NotSupported

CFG = config.parse(None)
SKLEARN = runtimes.Runtime(
    name="sklearn",
    kind="ClusterServingRuntime",
    spec={"containers": [{"name": "kserve-container", "image": "server"}]},
)
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MINIO = {
    "type": "s3",
    "access_key_id": "minio",
    "secret_access_key": SECRET_KEY,
    "endpoint_url": "http://minio.minio:9000",
    "bucket": "mlpipeline",
    "region": "us-south",
}


def isvc(storage: dict[str, Any], *, uri: str | None = None, **meta: Any) -> dict[str, Any]:
    model: dict[str, Any] = {"modelFormat": {"name": "sklearn"}, "storage": storage}
    if uri is not None:
        model["storageUri"] = uri
    return {
        "metadata": {"name": "m", "namespace": "ns", **meta},
        "spec": {"predictor": {"model": model}},
    }


def storage_config(name: str = "storage-config", **entries: Any) -> dict[str, Any]:
    def b64(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return base64.b64encode(text.encode()).decode()

    return {"metadata": {"name": name}, "data": {k: b64(v) for k, v in entries.items()}}


def initializer(raw: dict[str, Any], secret: dict[str, Any] | None) -> dict[str, Any]:
    parsed = spec.parse(raw)
    spec.check_supported(parsed, config=CFG)
    pod = build.component.pod(
        spec.predictor(parsed), runtime=SKLEARN, config=CFG, sources=Sources(storage_config=secret)
    )
    (init,) = pod["initContainers"]
    return dict(init)


def env(init: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in init.get("env") or []}


def test_key_path_and_parameters_become_uri_and_env() -> None:
    raw = isvc({"key": "localMinIO", "path": "/sklearn/iris", "parameters": {"region": "eu"}})
    init = initializer(raw, storage_config(localMinIO=MINIO))
    assert init["args"] == ["s3://mlpipeline/sklearn/iris", "/mnt/models"]
    assert env(init) == {
        "STORAGE_CONFIG": {"secretKeyRef": {"name": "storage-config", "key": "localMinIO"}},
        "STORAGE_OVERRIDE_CONFIG": '{"region":"eu"}',
    }
    assert SECRET_KEY not in json.dumps(init)  # by reference only


def test_parameters_bucket_wins_and_default_key_is_used_without_key() -> None:
    raw = isvc({"path": "m", "parameters": {"bucket": "other"}})
    init = initializer(raw, storage_config(default=MINIO))
    assert init["args"][0] == "s3://other/m"
    assert env(init)["STORAGE_CONFIG"]["secretKeyRef"]["key"] == "default"


def test_a_type_parameter_picks_default_of_that_type() -> None:
    gcs = {"type": "gs", "bucket": "gbucket", "base64_service_account": "e30="}
    raw = isvc({"path": "models/flowers", "parameters": {"type": "gs"}})
    init = initializer(raw, storage_config(default=MINIO, default_gs=gcs))
    assert init["args"][0] == "gs://gbucket/models/flowers"
    assert env(init)["STORAGE_CONFIG"]["secretKeyRef"]["key"] == "default_gs"


def test_without_path_the_storage_uri_is_used_with_the_entry() -> None:
    raw = isvc({"key": "localMinIO"}, uri="s3://bucket/iris")
    init = initializer(raw, storage_config(localMinIO=MINIO))
    assert init["args"][0] == "s3://bucket/iris"
    assert "STORAGE_CONFIG" in env(init)


def test_a_cabundle_configmap_is_mounted() -> None:
    raw = isvc({"key": "k", "path": "p"})
    init = initializer(raw, storage_config(k={**MINIO, "cabundle_configmap": "my-ca"}))
    assert env(init)["AWS_CA_BUNDLE_CONFIGMAP"] == "my-ca"
    assert any(m["name"] == "cabundle-cert" for m in init["volumeMounts"])


def test_the_annotation_names_another_secret() -> None:
    annotations = {"serving.kserve.io/storageSecretName": "team-storage"}
    raw = isvc({"key": "k", "path": "p"}, annotations=annotations)
    init = initializer(raw, storage_config("team-storage", k=MINIO))
    assert env(init)["STORAGE_CONFIG"]["secretKeyRef"]["name"] == "team-storage"


def test_the_configmap_names_the_secret() -> None:
    cfg = config.parse({"credentials": json.dumps({"storageSpecSecretName": "my-storage"})})
    parsed = spec.parse(isvc({"key": "k", "path": "p"}))
    assert (
        build.storage_spec.secret_name(spec.predictor(parsed), config=cfg.credentials)
        == "my-storage"
    )


@pytest.mark.parametrize(
    ("storage", "secret", "reason", "words"),
    [
        ({"key": "k", "path": "p"}, None, "StorageSecretNotFound", "Secret storage-config not"),
        ({"key": "nope", "path": "p"}, {"k": MINIO}, "StorageKeyNotFound", "has no key nope"),
        ({"path": "p"}, None, "StorageSecretNotFound", "names no type"),
        ({"path": "p"}, {"other": MINIO}, "InvalidStorageConfig", "cannot tell the storage"),
        (
            {"key": "k", "path": "p"},
            {"k": "not json " + SECRET_KEY},
            "InvalidStorageConfig",
            "not a JSON",
        ),
        ({"key": "k", "path": "p"}, {"k": {"type": "s3"}}, "InvalidStorageConfig", "bucket"),
        ({"key": "k", "path": "p"}, {"k": {"type": "ftp"}}, "InvalidStorageConfig", "'ftp'"),
    ],
)
def test_what_is_wrong_is_named_without_values(
    storage: dict[str, Any], secret: dict[str, Any] | None, reason: str, words: str
) -> None:
    with pytest.raises(InvalidSpec, match=words) as caught:
        initializer(isvc(storage), storage_config(**secret) if secret is not None else None)
    assert caught.value.reason == reason
    assert SECRET_KEY not in caught.value.message
    if reason != "InvalidStorageConfig" or "cannot tell" in words:
        assert caught.value.retry_after  # a Secret created later is picked up


def test_hdfs_is_not_supported_yet() -> None:
    with pytest.raises(NotSupported, match="hdfs"):
        initializer(isvc({"key": "k", "path": "p"}), storage_config(k={"type": "hdfs"}))


@pytest.mark.parametrize(
    ("storage", "uri", "words"),
    [
        ({"key": "k"}, "https://host/model", "cannot be used with"),
        ({"parameters": {"type": "azure"}, "path": "p"}, None, "parameters.type 'azure'"),
    ],
)
def test_spec_checks(storage: dict[str, Any], uri: str | None, words: str) -> None:
    raw = isvc(storage, uri=uri)
    with pytest.raises(InvalidSpec, match=words):
        spec.check_supported(spec.parse(raw), config=CFG)
