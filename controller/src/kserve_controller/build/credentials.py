"""Storage credentials for the model download, from the predictor's service account (pure).

Upstream's pod webhook reads the predictor's service account (or `default`) and the Secrets
it lists, and gives the storage initializer env and volumes by what each Secret holds. The
same rules here, on objects the reconcile pass already fetched. Secret values are never
copied into the pod, only referenced (secretKeyRef, a Secret volume); the S3 settings that
are not credentials (endpoint, region, ...) are copied as values, as upstream does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kserve_controller.build import storage_spec
from kserve_controller.config import CredentialsConfig, S3Config
from kserve_controller.spec import Component

Obj = dict[str, Any]

DEFAULT_SERVICE_ACCOUNT = "default"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
ANNOTATION = "serving.kserve.io/"
GCS_VOLUME = "user-gcp-sa"
GCS_MOUNT_PATH = "/var/secrets"
GCS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
HTTPS_HOST = "https-host"
HTTPS_HEADERS = "headers"
HF_TOKEN = "HF_TOKEN"

# S3 settings: (annotation after serving.kserve.io/, Secret data key = env name, config field).
# Each comes from the Secret's (or service account's) annotation, else its data, else config.
S3_SETTINGS = (
    ("s3-verifyssl", "S3_VERIFY_SSL", "verify_ssl"),
    ("s3-useanoncredential", "awsAnonymousCredential", "use_anonymous_credential"),
    ("s3-region", "AWS_DEFAULT_REGION", "region"),
    ("s3-usevirtualbucket", "S3_USER_VIRTUAL_BUCKET", "use_virtual_bucket"),
    ("s3-useaccelerate", "S3_USE_ACCELERATE", "use_accelerate"),
    ("s3-cabundle", "AWS_CA_BUNDLE", "ca_bundle"),
    ("s3-cabundle-configmap", "AWS_CA_BUNDLE_CONFIGMAP", "ca_bundle_config_map"),
)


@dataclass(frozen=True)
class Sources:
    """What the reconcile pass fetched: the service account (None: not found) and the
    Secrets it needs by name (a name left out: not found); for a storage spec, only the
    `storage-config` Secret (None: not found)."""

    service_account: Obj | None = None
    secrets: Mapping[str, Obj] = field(default_factory=dict)
    storage_config: Obj | None = None


@dataclass(frozen=True)
class Injection:
    """What the storage initializer gets: env, pod volumes and its own mounts; `uri`
    replaces the storageUri (a storage spec's path resolved against its Secret)."""

    env: list[Obj] = field(default_factory=list)
    volumes: list[Obj] = field(default_factory=list)
    mounts: list[Obj] = field(default_factory=list)
    uri: str | None = None


def service_account_name(part: Component) -> str:
    return part.spec.service_account_name or DEFAULT_SERVICE_ACCOUNT


def named_secret(part: Component, *, config: CredentialsConfig) -> str | None:
    """The one Secret the InferenceService names by annotation (instead of the SA's list)."""
    key = config.storage_secret_name_annotation
    return (part.annotations.get(key) or None) if key else None


def secret_names(
    part: Component, service_account: Obj | None, *, config: CredentialsConfig
) -> list[str]:
    """The Secrets to read, in order: the annotated one, else those the SA lists."""
    named = named_secret(part, config=config)
    if named:
        return [named]
    refs = (service_account or {}).get("secrets") or []
    return list(dict.fromkeys(str(r["name"]) for r in refs if r.get("name")))


def inject(part: Component, sources: Sources, *, config: CredentialsConfig) -> Injection:
    """Env, volumes and mounts for every Secret of a known kind; other Secrets are skipped.

    A storage spec (`model.storage`) uses its Secret alone, as upstream's webhook does.
    """
    if part.storage_spec is not None:
        found = storage_spec.resolve(part, secret=sources.storage_config, config=config)
        return Injection(env=found.env, uri=found.uri)
    return from_account(part, sources, config=config)


def from_account(part: Component, sources: Sources, *, config: CredentialsConfig) -> Injection:
    """Env, volumes and mounts from the service account of `sources` and its Secrets (the
    model download's, or the logger storage's)."""
    env: list[Obj] = []
    volumes: list[Obj] = []
    mounts: list[Obj] = []
    sa_annotations = _annotations(sources.service_account)
    if IRSA_ANNOTATION in sa_annotations:  # EKS web identity: boto3 finds the token itself
        env = merge_env(env, s3_env(sa_annotations, {}, config=config.s3))
    for name in secret_names(part, sources.service_account, config=config):
        secret = sources.secrets.get(name)
        if secret is None:
            continue
        data = secret.get("data") or {}
        if config.s3.secret_access_key_name in data:
            # A later S3 Secret wins over earlier ones and over the service account's settings.
            env = merge_env(env, _s3_secret_env(name, secret, config=config.s3))
        elif config.gcs.credential_file_name in data:
            if any(v["name"] == GCS_VOLUME for v in volumes):
                continue  # one key file per pod: the first GCS Secret listed
            volumes.append({"name": GCS_VOLUME, "secret": {"secretName": name}})
            mounts.append({"name": GCS_VOLUME, "mountPath": GCS_MOUNT_PATH, "readOnly": True})
            path = f"{GCS_MOUNT_PATH}/{config.gcs.credential_file_name}"
            env = merge_env(env, [{"name": GCS_ENV, "value": path}])
        elif HTTPS_HOST in data:
            host = _decoded(data[HTTPS_HOST])
            if host and HTTPS_HEADERS in data:
                # The initializer reads `<host>-headers`; headers often carry a token.
                env = merge_env(env, [_ref(f"{host}-headers", secret=name, key=HTTPS_HEADERS)])
        elif HF_TOKEN in data:
            env = merge_env(env, [_ref(HF_TOKEN, secret=name, key=HF_TOKEN)])
    return Injection(env=env, volumes=volumes, mounts=mounts)


def s3_env(
    annotations: Mapping[str, str], data: Mapping[str, str], *, config: S3Config
) -> list[Obj]:
    """The S3 settings env: annotation > Secret data (base64) > config; empty means unset."""

    def pick(annotation: str, key: str, default: str) -> str:
        if ANNOTATION + annotation in annotations:
            return str(annotations[ANNOTATION + annotation])
        if key in data:
            return _decoded(data[key])
        return default

    env: list[Obj] = []
    endpoint = pick("s3-endpoint", "S3_ENDPOINT", config.endpoint).strip()
    if endpoint:
        lowered = endpoint.lower()
        if lowered.startswith(("https://", "http://")):
            # A scheme in the endpoint decides, whatever s3-usehttps says.
            use_https = "1" if lowered.startswith("https://") else "0"
            host, url = endpoint.split("://", 1)[1], endpoint
        else:
            use_https = pick("s3-usehttps", "S3_USE_HTTPS", config.use_https)
            host = endpoint
            url = f"{'http' if use_https == '0' else 'https'}://{endpoint}"
        if use_https:
            env.append({"name": "S3_USE_HTTPS", "value": use_https})
        env.append({"name": "S3_ENDPOINT", "value": host})
        env.append({"name": "AWS_ENDPOINT_URL", "value": url})
    for annotation, key, attr in S3_SETTINGS:
        value = pick(annotation, key, str(getattr(config, attr)))
        if value:
            env.append({"name": key, "value": value})
    return env


def merge_env(base: list[Obj], extra: list[Obj]) -> list[Obj]:
    """`base` with `extra` added; a name already present is replaced where it stands."""
    merged = list(base)
    where = {e["name"]: i for i, e in enumerate(merged)}
    for item in extra:
        if item["name"] in where:
            merged[where[item["name"]]] = item
        else:
            where[item["name"]] = len(merged)
            merged.append(item)
    return merged


def _s3_secret_env(name: str, secret: Obj, *, config: S3Config) -> list[Obj]:
    keys = [
        _ref("AWS_ACCESS_KEY_ID", secret=name, key=config.access_key_id_name),
        _ref("AWS_SECRET_ACCESS_KEY", secret=name, key=config.secret_access_key_name),
    ]
    return keys + s3_env(_annotations(secret), secret.get("data") or {}, config=config)


def _ref(env_name: str, *, secret: str, key: str) -> Obj:
    return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _annotations(obj: Obj | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("annotations") or {})


def _decoded(value: str) -> str:
    # Secret data comes base64-encoded from the apiserver; files often end in a newline.
    try:
        return base64.b64decode(value).decode("utf-8", errors="replace").strip()
    except (binascii.Error, ValueError):
        return ""
