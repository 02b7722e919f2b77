"""The model download: an init container writing into an emptyDir at /mnt/models.

Upstream injects this with a pod-mutating webhook; here it is part of the Deployment's pod
template, so the pod is the same without a webhook. `pvc://claim/path` needs no download:
the claim is mounted read-only at /mnt/models with that subPath instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kserve_controller.config import StorageInitializerConfig
from kserve_controller.errors import InvalidSpec, NotSupported
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

NAME = "storage-initializer"
MOUNT_PATH = "/mnt/models"
VOLUME = "kserve-provision-location"
PVC_VOLUME = "kserve-pvc-source"
CA_VOLUME = "cabundle-cert"
# The configured CA bundle ConfigMap is copied into each InferenceService namespace as this.
CA_COPY = "global-ca-bundle"
CA_FILE = "cabundle.crt"
SCHEMES = ("gs://", "s3://", "https://", "http://", "hf://", "file://")
UNSUPPORTED_SCHEMES = ("hdfs://", "webhdfs://", "oci://", "oci+native://", "oci+fetch://")
NON_ROOT = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}


@dataclass(frozen=True)
class Storage:
    """What the pod needs for the model: init containers, volumes, the model's mount."""

    init_containers: list[Obj] = field(default_factory=list)
    volumes: list[Obj] = field(default_factory=list)
    mount: Obj | None = None


def plan(isvc: Isvc, *, config: StorageInitializerConfig) -> Storage:
    uri = isvc.storage_uri
    if not uri:
        return Storage()
    if uri.startswith("pvc://"):
        return _pvc(uri)
    check_uri(uri)
    user_inits = isvc.predictor.get("initContainers") or []
    mount = {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}
    volumes: list[Obj] = [{"name": VOLUME, "emptyDir": {}}]
    if any(c.get("name") == NAME for c in user_inits):
        # The user brought their own initializer: keep it, still give it the volume.
        return Storage(volumes=volumes, mount=mount)
    env = [{"name": e.name, "value": e.value} for e in config.env]
    mounts: list[Obj] = [{"name": VOLUME, "mountPath": MOUNT_PATH}]
    if config.ca_bundle_config_map_name:
        ca_path = config.ca_bundle_volume_mount_path
        volumes.append({"name": CA_VOLUME, "configMap": {"name": CA_COPY}})
        mounts.append({"name": CA_VOLUME, "mountPath": ca_path, "readOnly": True})
        bundle = f"{ca_path.rstrip('/')}/{CA_FILE}"
        env = _env_defaults(
            env,
            {
                "CA_BUNDLE_CONFIGMAP_NAME": CA_COPY,
                "CA_BUNDLE_VOLUME_MOUNT_POINT": ca_path,
                "SSL_CERT_FILE": bundle,
                "REQUESTS_CA_BUNDLE": bundle,
            },
        )
    container: Obj = {
        "name": NAME,
        "image": config.image,
        "args": [uri, MOUNT_PATH],
        "resources": {
            "requests": {"cpu": config.cpu_request, "memory": config.memory_request},
            "limits": {"cpu": config.cpu_limit, "memory": config.memory_limit},
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
        "securityContext": NON_ROOT,
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
    """InvalidSpec for a storageUri no initializer can fetch; local paths are fine."""
    if uri.startswith(UNSUPPORTED_SCHEMES):
        raise NotSupported(f"storageUri scheme of {uri!r} is not supported yet")
    if "://" in uri and not uri.startswith(SCHEMES):
        raise InvalidSpec(
            "InvalidStorageUri",
            f"storageUri {uri!r} is not supported; use one of "
            f"{', '.join(s.rstrip('/:') for s in (*SCHEMES, 'pvc://'))} or a local path",
        )


def _pvc(uri: str) -> Storage:
    claim, _, path = uri.removeprefix("pvc://").partition("/")
    if not claim:
        raise InvalidSpec("InvalidStorageUri", f"storageUri {uri!r} names no claim")
    mount: Obj = {"name": PVC_VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}
    if path.strip("/"):
        mount["subPath"] = path.strip("/")
    volume = {"name": PVC_VOLUME, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
    return Storage(volumes=[volume], mount=mount)


def _env_defaults(env: list[Obj], defaults: dict[str, str]) -> list[Obj]:
    present = {e["name"] for e in env}
    return env + [{"name": k, "value": v} for k, v in defaults.items() if k not in present]
