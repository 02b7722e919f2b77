"""`predictor.model.storage`: a model named by a key of the `storage-config` Secret (pure).

The Secret (name from the ConfigMap's `credentials.storageSpecSecretName`, or the
InferenceService's storage-secret annotation) maps keys to JSON storage descriptions
(`{"type": "s3", "bucket": ..., "access_key_id": ...}`). The initializer gets the chosen key
by secretKeyRef (STORAGE_CONFIG) and the spec's `parameters` as STORAGE_OVERRIDE_CONFIG; the
URI is `<type>://<bucket>/<path>`. Values are read here only for `type`, `bucket` and
`cabundle_configmap`, and never end up in the pod, a message or a log.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from kserve_controller.api.predictor import StorageSpec
from kserve_controller.config import CredentialsConfig
from kserve_controller.errors import InvalidSpec
from kserve_controller.spec import STORAGE_SPEC_TYPES, Component

Obj = dict[str, Any]

DEFAULT_SECRET = "storage-config"
DEFAULT_KEY = "default"
CONFIG_ENV = "STORAGE_CONFIG"
OVERRIDE_ENV = "STORAGE_OVERRIDE_CONFIG"
CA_BUNDLE_ENV = "AWS_CA_BUNDLE_CONFIGMAP"
BUCKET_TYPES = ("s3", "gs")
# A missing Secret or key is often created right after the InferenceService: look again soon.
RETRY_SECONDS = 30.0
WHERE = "spec.predictor.model.storage"


@dataclass(frozen=True)
class Resolved:
    """What the storage initializer gets for a storage spec: its URI argument and env."""

    uri: str | None
    env: list[Obj] = field(default_factory=list)


def secret_name(part: Component, *, config: CredentialsConfig) -> str:
    """The InferenceService's storage-secret annotation, else the configured name."""
    annotation = config.storage_secret_name_annotation
    named = part.annotations.get(annotation) if annotation else None
    return named or config.storage_spec_secret_name or DEFAULT_SECRET


def resolve(part: Component, *, secret: Obj | None, config: CredentialsConfig) -> Resolved:
    """The initializer's URI and env; InvalidSpec naming the Secret or key when one is wrong.

    `secret`: the Secret named by `secret_name` (None: not found).
    """
    storage = part.storage_spec or StorageSpec()
    params: dict[str, str] = {str(k): str(v) for k, v in (storage.parameters or {}).items()}
    name = secret_name(part, config=config)
    key = storage.key or None
    kind = params.get("type", "")
    data = (secret or {}).get("data") or {}
    if secret is None and key:
        raise _missing(f"Secret {name} not found in namespace {part.namespace}")
    if key is None:
        # Upstream's fallback: `default_<type>` when the parameters name a type, else `default`.
        key = f"{DEFAULT_KEY}_{kind}" if kind else DEFAULT_KEY
        found = key in data
    elif key not in data:
        raise _missing(
            f"Secret {name} in namespace {part.namespace} has no key {key}",
            reason="StorageKeyNotFound",
        )
    else:
        found = True
    env: list[Obj] = []
    described: dict[str, Any] = {}
    if found:
        described = _described(data[key], secret=name, key=key)
        if described.get("cabundle_configmap"):
            env.append({"name": CA_BUNDLE_ENV, "value": str(described["cabundle_configmap"])})
        env.append({"name": CONFIG_ENV, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}})
    kind = kind or str(described.get("type") or "")
    if not kind:
        where = f"key {key} of Secret {name}" if found else f"Secret {name}"
        if secret is None:
            raise _missing(
                f"Secret {name} not found in namespace {part.namespace}, and {WHERE}"
                ".parameters names no type"
            )
        raise InvalidSpec(
            "InvalidStorageConfig",
            f"cannot tell the storage type: neither {where} nor {WHERE}.parameters has a `type`",
            retry_after=RETRY_SECONDS,
        )
    if kind not in STORAGE_SPEC_TYPES:
        raise InvalidSpec(
            "InvalidStorageConfig",
            f"storage type {kind!r} (Secret {name} or {WHERE}.parameters) is not one of "
            f"{', '.join(STORAGE_SPEC_TYPES)}",
        )
    if params:
        # Go's json.Marshal of a map: keys sorted, no spaces.
        env.append(
            {
                "name": OVERRIDE_ENV,
                "value": json.dumps(params, sort_keys=True, separators=(",", ":")),
            }
        )
    return Resolved(
        uri=_uri(part, storage, kind=kind, bucket=params.get("bucket") or described.get("bucket")),
        env=env,
    )


def _uri(part: Component, storage: StorageSpec, *, kind: str, bucket: Any) -> str | None:
    path = storage.path
    if path is None:
        return part.storage_uri  # the storageUri, with the Secret's credentials
    path = str(path).lstrip("/")
    if kind not in BUCKET_TYPES:
        return f"{kind}://{path}"
    if not bucket:
        raise InvalidSpec(
            "InvalidStorageConfig",
            f"storage type {kind} needs a bucket: set `bucket` in the Secret's entry or in "
            f"{WHERE}.parameters",
        )
    return f"{kind}://{bucket}/{path}"


def _described(value: str, *, secret: str, key: str) -> dict[str, Any]:
    where = f"key {key} of Secret {secret}"
    try:
        parsed = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        # The message never quotes the value: it holds credentials.
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidSpec(
            "InvalidStorageConfig", f"{where} is not a JSON object", retry_after=RETRY_SECONDS
        )
    return parsed


def _missing(message: str, *, reason: str = "StorageSecretNotFound") -> InvalidSpec:
    return InvalidSpec(
        reason,
        f"{message} (needed by {WHERE}); the model is not downloaded until it exists",
        retry_after=RETRY_SECONDS,
    )
