"""What the chart tests do to a real apiserver: run helm, server-side apply, read objects.

Server-side apply with fieldValidation=Strict is what `kubectl apply --server-side` sends, so
an error here is the error a user sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes.client
from kubernetes.client.rest import ApiException

from kserve_controller.api import crd

REPO = Path(__file__).resolve().parents[3]
CHARTS = REPO / "charts"
GROUP = "serving.kserve.io"
FIELD_MANAGER = "kserve-chart-tests"


def helm(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the repo's pinned helm against the test apiserver."""
    binary = REPO / "bin" / "helm"
    if not os.access(binary, os.X_OK):
        raise AssertionError(f"helm not found at {binary}: run `make tools`")
    result = subprocess.run(
        [str(binary), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "HELM_CACHE_HOME": str(kubeconfig.parent / "helm-cache"),
             "HELM_CONFIG_HOME": str(kubeconfig.parent / "helm-config")},
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result


def apply(client: kubernetes.client.ApiClient, obj: dict[str, Any], *, namespace: str) -> Any:
    """Server-side apply of one namespaced serving.kserve.io object; ApiException on refusal."""
    version = obj["apiVersion"].split("/")[1]
    plural = obj["kind"].lower() + "s"
    name = obj["metadata"]["name"]
    path = f"/apis/{GROUP}/{version}/namespaces/{namespace}/{plural}/{name}"
    return client.call_api(
        path,
        "PATCH",
        query_params=[("fieldManager", FIELD_MANAGER), ("fieldValidation", "Strict")],
        header_params={
            "Content-Type": "application/apply-patch+yaml",
            "Accept": "application/json",
        },
        body=obj,
        response_type="object",
        _return_http_data_only=True,
    )


def refusal(client: kubernetes.client.ApiClient, obj: dict[str, Any], *, namespace: str) -> str:
    """The apiserver's message when it refuses `obj`; fails the test if it accepts it."""
    try:
        apply(client, obj, namespace=namespace)
    except ApiException as err:
        message = str(json.loads(err.body)["message"])
        # Server-side apply reports an unknown field as HTTP 500 (apiserver behaviour), with
        # the field's path; every other refusal is 400/422.
        unknown = err.status == 500 and "field not declared in schema" in message
        assert err.status in (400, 422) or unknown, f"unexpected HTTP {err.status}: {err.body}"
        return message
    raise AssertionError(f"the apiserver accepted {obj['metadata']['name']}")


def create_refusal(
    client: kubernetes.client.ApiClient, obj: dict[str, Any], *, namespace: str
) -> str:
    """The message of a strict create (what client-side `kubectl apply`/`create` sends)."""
    version = obj["apiVersion"].split("/")[1]
    plural = obj["kind"].lower() + "s"
    custom = kubernetes.client.CustomObjectsApi(client)
    try:
        custom.create_namespaced_custom_object(
            GROUP, version, namespace, plural, obj, field_validation="Strict"
        )
    except ApiException as err:
        assert err.status in (400, 422), f"unexpected HTTP {err.status}: {err.body}"
        return str(json.loads(err.body)["message"])
    raise AssertionError(f"the apiserver accepted {obj['metadata']['name']}")


def ensure_namespace(client: kubernetes.client.ApiClient, name: str) -> None:
    core = kubernetes.client.CoreV1Api(client)
    try:
        core.create_namespace(kubernetes.client.V1Namespace(metadata={"name": name}))
    except ApiException as err:
        if err.status != 409:
            raise


def wait_established(client: kubernetes.client.ApiClient, names: list[str]) -> None:
    """What `helm install --wait` waits for on CRDs: Established, so their kinds resolve."""
    ext = kubernetes.client.ApiextensionsV1Api(client)
    deadline = time.monotonic() + 60
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                pending.discard(name)
        time.sleep(0.2)
    assert not pending, f"CRDs not established in 60s: {sorted(pending)}"


NAMESPACE = "kserve"
CRDS = list(crd.CRD_NAMES)


@dataclass
class Installed:
    client: kubernetes.client.ApiClient
    kubeconfig: Path

    def helm(self, *args: str, check: bool = True) -> str:
        result = helm(self.kubeconfig, *args, check=check)
        return result.stdout + result.stderr


def install_both(installed: Installed) -> None:
    """The tutorial's two commands (without --wait: no nodes run the controller here)."""
    ensure_namespace(installed.client, NAMESPACE)
    installed.helm("install", "kserve-crd", str(CHARTS / "kserve-crd"), "-n", NAMESPACE)
    wait_established(installed.client, CRDS)
    installed.helm(
        "install", "kserve", str(CHARTS / "kserve"), "-n", NAMESPACE,
        "--set", "kserve.controller.deploymentMode=RawDeployment",
    )  # fmt: skip
