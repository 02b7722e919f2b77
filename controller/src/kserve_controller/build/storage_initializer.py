"""The model download: an init container writing into an emptyDir at /mnt/models.

Upstream injects this with a pod-mutating webhook; here it is part of the Deployment's pod
template, so the pod is the same without a webhook. `pvc://claim/path` needs no download:
the claim is mounted read-only at /mnt/models with that subPath instead. Storage credentials
(build/credentials.py) come in as env, volumes and mounts already decided.
"""

from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass, field
from typing import Any

from kserve_controller.api import storage
from kserve_controller.build import workload
from kserve_controller.build.credentials import Injection, merge_env
from kserve_controller.config import StorageInitializerConfig
from kserve_controller.errors import InvalidSpec, NotSupported
from kserve_controller.spec import Component

Obj = dict[str, Any]

NAME = "storage-initializer"
MOUNT_PATH = "/mnt/models"
VOLUME = "kserve-provision-location"
PVC_VOLUME = "kserve-pvc-source"
CA_VOLUME = "cabundle-cert"
# Its root filesystem is read-only; /tmp is for what a fetcher writes beside the model (the
# system CA store joined with a custom bundle, for S3).
TMP_VOLUME = "storage-initializer-tmp"
TMP_SIZE = "64Mi"
# The configured CA bundle ConfigMap is copied into each InferenceService namespace as this.
CA_COPY = "global-ca-bundle"
CA_FILE = "cabundle.crt"


@dataclass(frozen=True)
class Storage:
    """What the pod needs for the model: init containers, volumes, the model's mount."""

    init_containers: list[Obj] = field(default_factory=list)
    volumes: list[Obj] = field(default_factory=list)
    mount: Obj | None = None


def injects(part: Component) -> bool:
    """Whether the pod gets our storage initializer (and so wants storage credentials)."""
    uri = part.storage_uri
    by_spec = part.storage_spec is not None and part.storage_spec.path is not None
    if not by_spec and (not uri or uri.startswith("pvc://")):
        return False
    return not any(c.get("name") == NAME for c in part.spec.init_containers or [])


def plan(
    part: Component, *, config: StorageInitializerConfig, credentials: Injection | None = None
) -> Storage:
    uri = (credentials.uri if credentials else None) or part.storage_uri
    if not uri:
        return Storage()
    if uri.startswith("pvc://"):
        return _pvc(uri)
    check_uri(uri)
    mount = {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}
    volumes: list[Obj] = [{"name": VOLUME, "emptyDir": {}}]
    if not injects(part):
        # The user brought their own initializer: keep it, still give it the volume.
        return Storage(volumes=volumes, mount=mount)
    creds = credentials or Injection()
    # Credentials are per Secret, so they win over the cluster-wide env of the config.
    env = merge_env([{"name": e.name, "value": e.value} for e in config.env], creds.env)
    mounts: list[Obj] = [
        {"name": VOLUME, "mountPath": MOUNT_PATH},
        {"name": TMP_VOLUME, "mountPath": "/tmp"},
        *creds.mounts,
    ]
    volumes += [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_SIZE}}, *creds.volumes]
    ca = _ca_bundle(env, config)
    if ca is not None:
        ca_name, ca_path = ca
        volumes.append({"name": CA_VOLUME, "configMap": {"name": ca_name}})
        mounts.append({"name": CA_VOLUME, "mountPath": ca_path, "readOnly": True})
        bundle = f"{ca_path.rstrip('/')}/{CA_FILE}"
        env = _env_defaults(
            env,
            {
                "CA_BUNDLE_CONFIGMAP_NAME": ca_name,
                "CA_BUNDLE_VOLUME_MOUNT_POINT": ca_path,
                "SSL_CERT_FILE": bundle,
                "REQUESTS_CA_BUNDLE": bundle,
            },
        )
    container: Obj = {
        "name": NAME,
        "image": config.image,
        "args": [uri, MOUNT_PATH],
        "resources": config.requirements(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
        "securityContext": copy.deepcopy(workload.LOCKED_DOWN),
    }
    if env:
        container["env"] = env
    return Storage(init_containers=[container], volumes=volumes, mount=mount)


def ca_bundle_copy(source: Obj, *, namespace: str) -> Obj:
    """The CA bundle ConfigMap from the controller's namespace, as the isvc namespace's copy."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CA_COPY, "namespace": namespace},
        "data": dict(source.get("data") or {}),
    }


def check_uri(uri: str) -> None:
    """NotSupported, naming the scheme, for a storageUri the initializer cannot fetch yet."""
    reason = storage.unsupported_reason(uri)
    if reason is not None:
        raise NotSupported(f"storageUri {uri!r}: {reason}")


def _pvc(uri: str) -> Storage:
    claim, _, path = uri.removeprefix("pvc://").partition("/")
    if not claim:
        raise InvalidSpec("InvalidStorageUri", f"storageUri {uri!r} names no claim")
    mount: Obj = {"name": PVC_VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}
    if path.strip("/"):
        mount["subPath"] = path.strip("/")
    volume = {"name": PVC_VOLUME, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
    return Storage(volumes=[volume], mount=mount)


def _ca_bundle(env: list[Obj], config: StorageInitializerConfig) -> tuple[str, str] | None:
    """(ConfigMap, mount path) of the CA bundle to mount, if any.

    An S3 Secret's `s3-cabundle-configmap` (AWS_CA_BUNDLE_CONFIGMAP, a ConfigMap in the
    InferenceService's namespace) wins over the cluster-wide bundle, mounted where its
    AWS_CA_BUNDLE points (as upstream's webhook does).
    """
    values = {e["name"]: e.get("value") for e in env}
    own = values.get("AWS_CA_BUNDLE_CONFIGMAP")
    if own:
        bundle = values.get("AWS_CA_BUNDLE")
        path = posixpath.dirname(bundle) if bundle else config.ca_bundle_volume_mount_path
        return own, path or config.ca_bundle_volume_mount_path
    if config.ca_bundle_config_map_name:
        return CA_COPY, config.ca_bundle_volume_mount_path
    return None


def _env_defaults(env: list[Obj], defaults: dict[str, str]) -> list[Obj]:
    present = {e["name"] for e in env}
    return env + [{"name": k, "value": v} for k, v in defaults.items() if k not in present]
