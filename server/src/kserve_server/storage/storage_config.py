"""STORAGE_CONFIG and STORAGE_OVERRIDE_CONFIG: a storage spec's Secret entry, as settings.

The controller passes the chosen entry of the `storage-config` Secret (a JSON object with a
`type`) by secretKeyRef, and the InferenceService's `storage.parameters` beside it; the
parameters win key by key. An s3 entry's keys become the settings the AWS_* variables would
set (and win over them, as upstream); a gs entry carries a base64 service-account key.
Messages name keys, never values: the entry holds credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from kserve_server.storage.errors import StorageError, UnsupportedError

# s3 entry key -> the StorageSettings alias (upstream's env name) it sets.
S3_KEYS = {
    "endpoint_url": "AWS_ENDPOINT_URL",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "region": "AWS_DEFAULT_REGION",
    "ca_bundle": "AWS_CA_BUNDLE",
    "verify_ssl": "S3_VERIFY_SSL",
    "anonymous": "awsAnonymousCredential",
}
GCS_KEY = "base64_service_account"
GCS_SETTING = "STORAGE_GCS_SERVICE_ACCOUNT"


def merged(config: str | None, override: str | None) -> dict[str, Any]:
    """The Secret's entry with the parameters laid over it; {} when neither is set."""
    entry = _object(config, name="STORAGE_CONFIG")
    entry.update(_object(override, name="STORAGE_OVERRIDE_CONFIG"))
    return entry


def settings_from(config: str | None, override: str | None) -> dict[str, Any]:
    """StorageSettings values (by alias) that the storage spec sets."""
    entry = merged(config, override)
    if not entry:
        return {}
    kind = entry.get("type")
    if kind == "s3":
        return {alias: _text(entry[key]) for key, alias in S3_KEYS.items() if key in entry}
    if kind == "gs":
        if GCS_KEY not in entry:
            return {}  # a public bucket, or the pod's own identity
        try:
            key = base64.b64decode(str(entry[GCS_KEY]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as err:
            raise StorageError(f"STORAGE_CONFIG: {GCS_KEY} is not base64") from err
        return {GCS_SETTING: key}
    if kind in ("hdfs", "webhdfs"):
        raise UnsupportedError(f"STORAGE_CONFIG: storage type {kind} is not implemented yet")
    if kind is None:
        raise StorageError("STORAGE_CONFIG has no `type` (s3 or gs)")
    raise UnsupportedError(f"STORAGE_CONFIG: storage type {kind!r} is not one of s3, gs")


def _object(text: str | None, *, name: str) -> dict[str, Any]:
    if not text or not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None  # json's message can quote the text: say nothing of it
    if not isinstance(parsed, dict):
        raise StorageError(f"{name} is not a JSON object")
    return parsed


def _text(value: Any) -> str:
    # JSON booleans as upstream's string form ("true"/"false"); pydantic reads either.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
