"""Helpers for the controller's integration tests: its own apiserver, both charts installed
with helm as the tutorial does, the controller run in this event loop or as a process."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubeapi
import kubernetes.client
import pytest

from kserve_controller.api import crd
from kserve_controller.kube.client import Kube
from kserve_controller.manager import Manager
from kserve_controller.settings import ControllerSettings

REPO = Path(__file__).resolve().parents[3]
NAMESPACE = "kserve"
SA = "kserve-controller-manager"
CRDS = list(crd.CRD_NAMES)


def helm(kubeconfig: Path, *args: str) -> str:
    binary = REPO / "bin" / "helm"
    if not binary.exists():
        pytest.fail(f"helm not found at {binary}: run `make tools`", pytrace=False)
    result = subprocess.run(
        [str(binary), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def _wait_crds(client: kubernetes.client.ApiClient, names: list[str]) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(client)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = 0
        for name in names:
            crd = ext.read_custom_resource_definition(name)
            conds = {c.type: c.status for c in (crd.status.conditions or [])}
            ready += conds.get("Established") == "True"
        if ready == len(names):
            return
        time.sleep(0.2)
    raise TimeoutError(f"CRDs not established: {names}")


def _minimal_crds(client: kubernetes.client.ApiClient) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(client)
    for name in CRDS:
        plural = name.split(".")[0]
        kind = {
            "inferenceservices": "InferenceService",
            "servingruntimes": "ServingRuntime",
            "clusterservingruntimes": "ClusterServingRuntime",
            "inferencegraphs": "InferenceGraph",
            "trainedmodels": "TrainedModel",
            "clusterstoragecontainers": "ClusterStorageContainer",
        }[plural]
        version = "v1beta1" if plural == "inferenceservices" else "v1alpha1"
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        body = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": "serving.kserve.io",
                "names": {"kind": kind, "plural": plural, "listKind": f"{kind}List"},
                "scope": "Cluster" if plural.startswith("cluster") else "Namespaced",
                "versions": [
                    {
                        "name": version,
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": schema},
                        "subresources": {"status": {}},
                    }
                ],
            },
        }
        try:
            ext.create_custom_resource_definition(body)
        except kubernetes.client.ApiException as err:
            if err.status != 409:  # helm may have created some before failing
                raise


@dataclass
class Installed:
    apiserver: kubeapi.ApiServer
    kubeconfig: Path  # the controller's ServiceAccount token: exactly the chart's RBAC
    admin_kubeconfig: Path


def install(apiserver: kubeapi.ApiServer, workdir: Path) -> Installed:
    """The tutorial's two helm commands (no --wait: no kubelet runs the controller pod)."""
    admin = apiserver.kubeconfig
    core = kubernetes.client.CoreV1Api(apiserver.client)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    charts = REPO / "charts"
    try:
        helm(admin, "install", "kserve-crd", str(charts / "kserve-crd"), "-n", NAMESPACE)
    except RuntimeError as err:
        # The chart's CRDs are the charts suite's to prove; the controller's behaviour does
        # not depend on their validation rules, so say it loudly and go on schemaless.
        first = str(err).splitlines()[2:3]
        warnings.warn(f"kserve-crd did not install, schemaless CRDs used: {first}", stacklevel=1)
        _minimal_crds(apiserver.client)
    _wait_crds(apiserver.client, CRDS)
    helm(
        admin, "install", "kserve", str(charts / "kserve"), "-n", NAMESPACE,
        "--set", "kserve.controller.deploymentMode=RawDeployment",
    )  # fmt: skip
    token = apiserver.service_account_token(NAMESPACE, SA, expiration_seconds=7200)
    return Installed(
        apiserver=apiserver,
        kubeconfig=apiserver.write_kubeconfig(workdir / "controller.kubeconfig", token=token),
        admin_kubeconfig=admin,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(installed: Installed, **extra: Any) -> ControllerSettings:
    values: dict[str, Any] = {
        "namespace": NAMESPACE,
        "identity": f"test-{uuid.uuid4().hex[:6]}",
        "kubeconfig": str(installed.kubeconfig),
        "workers": 4,
        "health_host": "127.0.0.1",
        "health_port": free_port(),
        "metrics_host": "127.0.0.1",
        "metrics_port": free_port(),
        "lease_duration_seconds": 4,
        "renew_deadline_seconds": 3,
        "retry_period_seconds": 0.5,
    }
    values.update(extra)
    return ControllerSettings(**values)


class Running:
    """A controller running in this event loop; `stop()` is a graceful shutdown."""

    def __init__(self, manager: Manager, task: asyncio.Task[None]) -> None:
        self.manager = manager
        self.task = task

    def writes(self) -> float:
        return sum(
            s.value
            for m in self.manager.metrics.registry.collect()
            if m.name == "kserve_controller_api_writes"
            for s in m.samples
            if s.name.endswith("_total")
        )

    async def settled(self) -> None:
        """Caches synced and nothing left to do (queue idle)."""
        await wait_for(lambda: self.manager.ready, what="controller ready")
        for watch in self.manager.primary_watches("InferenceService"):
            await asyncio.wait_for(watch.synced.wait(), 30)
        await asyncio.sleep(0.3)  # let the first events reach the queue
        await asyncio.wait_for(self.manager.wait_idle(), 30)

    async def stop(self) -> None:
        self.manager.stopping.set()
        await asyncio.wait_for(self.task, 30)
        await self.manager.kube.close()


async def wait_for(
    probe: Callable[[], Any],
    *,
    what: str,
    timeout: float = 60.0,  # noqa: ASYNC109 (a polling deadline, not a cancel scope)
    interval: float = 0.1,
) -> Any:
    """Poll `probe` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)


async def make_available(admin: Kube, ns: str, name: str) -> None:
    # What the deployment controller would write once the pods are ready.
    now = "2026-01-01T00:00:00Z"
    status = {
        "observedGeneration": 1,
        "replicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "updatedReplicas": 1,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": "ok",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
            },
        ],
    }
    await admin.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{ns}/deployments/{name}/status",
        body={"status": status},
        content_type="application/merge-patch+json",
    )


def isvc(
    name: str,
    namespace: str,
    *,
    storage_uri: str = "gs://kfserving-examples/models/sklearn/1.0/model",
    fmt: str = "sklearn",
    **predictor: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": fmt}, "storageUri": storage_uri},
                **predictor,
            }
        },
    }


def cond(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return {}
