"""s3:// against moto's S3 server (ThreadedMotoServer) on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from storage_archives import tar
from storage_servers import FlakyProxy, S3Server

from kserve_server.storage import fetch
from kserve_server.storage.errors import AccessDeniedError, NotFoundError, StorageError
from kserve_server.storage.settings import StorageSettings

MODEL = b"xgb-model" * 10_000


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere boto3 looks, and no instance metadata lookups."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def env_credentials(no_aws_config: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def bucket(s3_server: S3Server) -> Iterator[str]:
    name = f"models-{uuid.uuid4().hex[:8]}"
    s3_server.client().create_bucket(Bucket=name)
    yield name


@pytest.fixture
def on_moto(settings: StorageSettings, s3_server: S3Server) -> StorageSettings:
    settings.aws_endpoint_url = s3_server.endpoint
    return settings


def put(
    s3_server: S3Server, bucket: str, objects: dict[str, bytes], *, acl: str = "private"
) -> None:
    client: Any = s3_server.client()
    if acl != "private":
        client.put_bucket_acl(Bucket=bucket, ACL=acl)
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data, ACL=acl)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.usefixtures("env_credentials")
def test_a_prefix_downloads_every_object_concurrently(
    s3_server: S3Server, bucket: str, on_moto: StorageSettings, tmp_path: Path
) -> None:
    objects = {f"iris/v1/part-{i:02d}.bin": bytes([i]) * (1000 + i) for i in range(24)}
    objects["iris/v1/nested/deep/model.json"] = b"{}"
    put(s3_server, bucket, {**objects, "iris/v10/other.bin": b"not me", "iris/v1/": b""})
    on_moto.s3_max_file_concurrency = 8
    _run(f"s3://{bucket}/iris/v1", tmp_path / "m", on_moto)
    assert tree(tmp_path / "m") == {k.removeprefix("iris/v1/"): v for k, v in objects.items()}


@pytest.mark.usefixtures("env_credentials")
def test_an_exact_key_is_saved_under_its_base_name(
    s3_server: S3Server, bucket: str, on_moto: StorageSettings, tmp_path: Path
) -> None:
    put(s3_server, bucket, {"test/churn-pickle": MODEL, "test/churn-pickle-v2": b"no"})
    _run(f"s3://{bucket}/test/churn-pickle", tmp_path / "m", on_moto)
    assert tree(tmp_path / "m") == {"churn-pickle": MODEL}


@pytest.mark.usefixtures("env_credentials")
def test_the_bucket_root_and_a_lone_archive(
    s3_server: S3Server, bucket: str, on_moto: StorageSettings, tmp_path: Path
) -> None:
    put(s3_server, bucket, {"model.tar.gz": tar({"model.bst": MODEL})})
    _run(f"s3://{bucket}", tmp_path / "m", on_moto)
    assert tree(tmp_path / "m") == {"model.bst": MODEL}


@pytest.mark.usefixtures("no_aws_config")
def test_anonymous_when_no_credentials_are_found(
    s3_server: S3Server, bucket: str, on_moto: StorageSettings, tmp_path: Path
) -> None:
    put(s3_server, bucket, {"public/model.joblib": MODEL}, acl="public-read")
    _run(f"s3://{bucket}/public", tmp_path / "m", on_moto)
    assert tree(tmp_path / "m") == {"model.joblib": MODEL}


@pytest.mark.usefixtures("no_aws_config")
def test_anonymous_on_a_private_bucket_is_denied_at_once(
    s3_server: S3Server, bucket: str, on_moto: StorageSettings, tmp_path: Path
) -> None:
    put(s3_server, bucket, {"private/model.joblib": MODEL})
    with pytest.raises(AccessDeniedError, match=rf"access denied to s3://{bucket}/private"):
        _run(f"s3://{bucket}/private/model.joblib", tmp_path / "m", on_moto)


@pytest.mark.usefixtures("env_credentials")
def test_s3_endpoint_without_https(
    s3_server: S3Server, bucket: str, settings: StorageSettings, tmp_path: Path
) -> None:
    put(s3_server, bucket, {"m/model.joblib": MODEL})
    settings.s3_endpoint = s3_server.endpoint.removeprefix("http://")
    settings.s3_use_https = False
    _run(f"s3://{bucket}/m", tmp_path / "m", settings)
    assert tree(tmp_path / "m") == {"model.joblib": MODEL}


@pytest.mark.usefixtures("env_credentials")
async def test_5xx_from_s3_is_retried_then_succeeds(
    s3_server: S3Server,
    flaky_s3: FlakyProxy,
    bucket: str,
    settings: StorageSettings,
    tmp_path: Path,
) -> None:
    put(s3_server, bucket, {"m/model.joblib": MODEL})
    settings.aws_endpoint_url = flaky_s3.url
    await fetch(f"s3://{bucket}/m", tmp_path / "m", settings=settings)
    assert tree(tmp_path / "m") == {"model.joblib": MODEL}
    assert flaky_s3.refused == 2


@pytest.mark.usefixtures("env_credentials")
async def test_5xx_from_s3_gives_up_after_bounded_retries(
    s3_server: S3Server,
    flaky_s3: FlakyProxy,
    bucket: str,
    settings: StorageSettings,
    tmp_path: Path,
) -> None:
    put(s3_server, bucket, {"m/model.joblib": MODEL})
    flaky_s3.failures = 100
    settings.aws_endpoint_url = flaky_s3.url
    with pytest.raises(StorageError, match="S3 error"):
        await fetch(f"s3://{bucket}/m", tmp_path / "m", settings=settings)
    # botocore makes `retries` attempts per request; s3transfer may add one attempt of its own.
    assert settings.retries <= flaky_s3.refused <= settings.retries + 1
    assert not (tmp_path / "m").exists()


@pytest.mark.usefixtures("env_credentials")
def test_a_missing_bucket_is_named(on_moto: StorageSettings, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="'no-such-bucket' does not exist"):
        _run("s3://no-such-bucket/model", tmp_path / "m", on_moto)


@pytest.mark.usefixtures("env_credentials")
def test_a_missing_key_is_named(bucket: str, on_moto: StorageSettings, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=rf"s3://{bucket}/absent"):
        _run(f"s3://{bucket}/absent", tmp_path / "m", on_moto)
    assert not (tmp_path / "m").exists()


@pytest.mark.usefixtures("env_credentials")
def test_a_key_escaping_the_destination_is_refused(
    s3_server: S3Server, bucket: str, on_moto: StorageSettings, tmp_path: Path
) -> None:
    put(s3_server, bucket, {"m/ok.bin": b"ok", "m/../../../escape.bin": b"pwned"})
    with pytest.raises(StorageError, match="outside the destination"):
        _run(f"s3://{bucket}/m", tmp_path / "a" / "b" / "m", on_moto)
    assert not list(tmp_path.rglob("escape.bin"))


@pytest.mark.usefixtures("env_credentials")
def test_an_unreachable_endpoint_is_named(settings: StorageSettings, tmp_path: Path) -> None:
    from storage_servers import free_port

    settings.aws_endpoint_url = f"http://127.0.0.1:{free_port()}"
    settings.retries = 1
    with pytest.raises(StorageError, match="cannot connect to S3 endpoint"):
        _run("s3://b/m", tmp_path / "m", settings)


def _run(uri: str, dest: Path, settings: StorageSettings) -> None:
    import asyncio

    asyncio.run(fetch(uri, dest, settings=settings))
