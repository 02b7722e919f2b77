"""STORAGE_CONFIG / STORAGE_OVERRIDE_CONFIG read into the initializer's settings."""

from __future__ import annotations

import base64
import json

import pytest

from kserve_server.storage import storage_config
from kserve_server.storage.errors import StorageError, UnsupportedError
from kserve_server.storage.settings import StorageSettings

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MINIO = {
    "type": "s3",
    "access_key_id": "minio",
    "secret_access_key": SECRET_KEY,
    "endpoint_url": "http://minio.minio:9000",
    "bucket": "mlpipeline",
    "region": "us-south",
    "anonymous": "False",
    "verify_ssl": "0",
}


def test_an_s3_entry_sets_endpoint_keys_region_and_flags() -> None:
    values = storage_config.settings_from(json.dumps(MINIO), None)
    settings = StorageSettings(**values)
    assert settings.aws_endpoint_url == "http://minio.minio:9000"
    assert settings.aws_access_key_id is not None
    assert settings.aws_access_key_id.get_secret_value() == "minio"
    assert settings.aws_secret_access_key is not None
    assert settings.aws_secret_access_key.get_secret_value() == SECRET_KEY
    assert settings.aws_region == "us-south"
    assert settings.aws_anonymous is False
    assert settings.s3_verify_ssl is False
    assert SECRET_KEY not in repr(settings)  # settings never print a key


def test_overrides_win_key_by_key() -> None:
    override = json.dumps({"region": "eu-west-1", "anonymous": True})
    settings = StorageSettings(**storage_config.settings_from(json.dumps(MINIO), override))
    assert settings.aws_region == "eu-west-1"
    assert settings.aws_anonymous is True
    assert settings.aws_endpoint_url == "http://minio.minio:9000"


def test_the_entry_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere:1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    settings = StorageSettings(**storage_config.settings_from(json.dumps(MINIO), None))
    assert settings.aws_endpoint_url == "http://minio.minio:9000"
    assert settings.aws_access_key_id is not None
    assert settings.aws_access_key_id.get_secret_value() == "minio"


def test_a_gs_entry_carries_the_decoded_key() -> None:
    key = '{"type": "service_account"}'
    entry = {"type": "gs", "bucket": "b", "base64_service_account": base64.b64encode(key.encode())}
    text = json.dumps({k: v.decode() if isinstance(v, bytes) else v for k, v in entry.items()})
    settings = StorageSettings(**storage_config.settings_from(text, None))
    assert settings.gcs_service_account is not None
    assert settings.gcs_service_account.get_secret_value() == key


def test_nothing_set_changes_nothing() -> None:
    assert storage_config.settings_from(None, None) == {}
    assert storage_config.settings_from("", "") == {}


@pytest.mark.parametrize(
    ("config", "override", "error", "words"),
    [
        ("not json " + SECRET_KEY, None, StorageError, "STORAGE_CONFIG is not a JSON object"),
        (json.dumps(MINIO), "[1]", StorageError, "STORAGE_OVERRIDE_CONFIG is not a JSON object"),
        (json.dumps({"bucket": "b"}), None, StorageError, "has no `type`"),
        (json.dumps({"type": "hdfs"}), None, UnsupportedError, "hdfs is not implemented"),
        (json.dumps({"type": "ftp"}), None, UnsupportedError, "'ftp' is not one of s3, gs"),
        (
            json.dumps({"type": "gs", "base64_service_account": "%%" + SECRET_KEY}),
            None,
            StorageError,
            "base64_service_account is not base64",
        ),
    ],
)
def test_bad_entries_are_named_without_their_values(
    config: str, override: str | None, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as caught:
        storage_config.settings_from(config, override)
    assert SECRET_KEY not in str(caught.value)
