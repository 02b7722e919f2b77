"""The initializer with only STORAGE_CONFIG for credentials (a storage spec): moto S3 and
the GCS emulator behind a token gate."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import uuid
from pathlib import Path

from storage_servers import GcsEmulator, GoogleAuthGate, S3Server

from kserve_server.storage import fetch, storage_config
from kserve_server.storage.settings import StorageSettings

SECRET_KEY = "spec/secret+key/value0000000000000000001"
MODEL = b"model-bytes" * 1000


def clean_env(tmp_path: Path) -> dict[str, str]:
    """No AWS credentials anywhere boto3 looks: only STORAGE_CONFIG can grant access."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "STORAGE_"))}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        STORAGE_TERMINATION_LOG=str(tmp_path / "termination-log"),
        STORAGE_RETRIES="1",
    )
    return env


async def run(uri: str, dest: Path, env: dict[str, str]) -> tuple[int, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kserve_server.storage",
        uri,
        str(dest),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode is not None
    return child.returncode, out.decode()


async def test_storage_config_alone_fetches_a_private_model(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = f"spec-{uuid.uuid4().hex[:8]}"
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="iris/model.joblib", Body=MODEL)  # private
    env = clean_env(tmp_path)

    # Without the entry the request goes anonymous, and moto refuses a private object.
    code, out = await run(
        f"s3://{bucket}/iris", tmp_path / "anon", {**env, "AWS_ENDPOINT_URL": s3_server.endpoint}
    )
    assert code == 1
    assert "access denied" in out

    entry = {
        "type": "s3",
        "access_key_id": "testing",
        "secret_access_key": SECRET_KEY,
        "endpoint_url": "http://127.0.0.1:1",  # overridden below, as parameters do
        "bucket": bucket,
        "region": "us-east-1",
    }
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"  # the entry wins over the environment
    env["STORAGE_CONFIG"] = json.dumps(entry)
    env["STORAGE_OVERRIDE_CONFIG"] = json.dumps({"endpoint_url": s3_server.endpoint})
    code, out = await run(f"s3://{bucket}/iris", tmp_path / "m", env)
    assert code == 0, out
    assert (tmp_path / "m" / "model.joblib").read_bytes() == MODEL
    assert SECRET_KEY not in out


async def test_a_broken_entry_fails_with_one_line_and_no_value(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    env["STORAGE_CONFIG"] = '{"type": "s3", "secret_access_key": "' + SECRET_KEY  # cut short
    code, out = await run("s3://b/m", tmp_path / "m", env)
    assert code == 1
    assert out.strip().splitlines()[-1] == (
        "storage-initializer: error: STORAGE_CONFIG is not a JSON object"
    )
    assert SECRET_KEY not in out


async def test_a_gs_entry_key_is_exchanged_for_a_token(
    gcs_emulator: GcsEmulator,
    google_gate: GoogleAuthGate,
    key_file: Path,
    settings: StorageSettings,
    tmp_path: Path,
) -> None:
    bucket = f"spec-{uuid.uuid4().hex[:8]}"
    await gcs_emulator.bucket(bucket)
    await gcs_emulator.put(bucket, "private/model.joblib", MODEL)
    entry = {
        "type": "gs",
        "bucket": bucket,
        "base64_service_account": base64.b64encode(_read(key_file)).decode(),
    }
    values = storage_config.settings_from(json.dumps(entry), None)
    spec = settings.model_copy(update={"storage_emulator_host": google_gate.url})
    spec = StorageSettings(**{**spec.model_dump(), **values})
    await fetch(f"gs://{bucket}/private", tmp_path / "m", settings=spec)
    assert (tmp_path / "m" / "model.joblib").read_bytes() == MODEL
    [claims] = google_gate.assertions  # the gate forwards only with the token it issued
    assert claims["iss"] == "loader@test-project.iam.gserviceaccount.com"


def _read(path: Path) -> bytes:
    return path.read_bytes()
