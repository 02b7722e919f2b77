"""Both charts installed on the session's real kube-apiserver, in the tutorial's order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import charts_kube as kubectl
import kubeapi
import kubernetes.client
import pytest

NAMESPACE = "kserve"
CRDS = [
    f"{plural}.serving.kserve.io"
    for plural in (
        "inferenceservices",
        "servingruntimes",
        "clusterservingruntimes",
        "inferencegraphs",
        "trainedmodels",
        "clusterstoragecontainers",
    )
]


@dataclass
class Installed:
    client: kubernetes.client.ApiClient
    kubeconfig: Path

    def helm(self, *args: str, check: bool = True) -> str:
        result = kubectl.helm(self.kubeconfig, *args, check=check)
        return result.stdout + result.stderr


def install_both(installed: Installed) -> None:
    """The tutorial's two commands (without --wait: no nodes run the controller here)."""
    kubectl.ensure_namespace(installed.client, NAMESPACE)
    installed.helm("install", "kserve-crd", str(kubectl.CHARTS / "kserve-crd"), "-n", NAMESPACE)
    kubectl.wait_established(installed.client, CRDS)
    installed.helm(
        "install", "kserve", str(kubectl.CHARTS / "kserve"), "-n", NAMESPACE,
        "--set", "kserve.controller.deploymentMode=RawDeployment",
    )  # fmt: skip


@pytest.fixture(scope="session")
def charts(apiserver: kubeapi.ApiServer) -> Iterator[Installed]:
    installed = Installed(client=apiserver.client, kubeconfig=apiserver.kubeconfig)
    install_both(installed)
    yield installed
