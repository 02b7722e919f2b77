"""The cluster add-ons: CoreDNS and metrics-server (our builds, from hack/cluster/*.yaml).

Applied as soon as the apiserver answers, so their pods start the moment the node is Ready;
`up` waits for them last.
"""

from __future__ import annotations

import base64

from devcluster import sh
from devcluster.layout import REPO, Layout

MANIFESTS = REPO / "hack" / "cluster"


def render(layout: Layout) -> str:
    """Both manifests with the cluster's addresses, images and metrics-server's TLS filled in."""

    def b64(name: str) -> str:
        return base64.b64encode((layout.pki / name).read_bytes()).decode()

    coredns = (MANIFESTS / "coredns.yaml").read_text()
    coredns = coredns.replace("@DNS_IP@", layout.dns_ip).replace("@IMAGE@", layout.image("coredns"))
    metrics = (MANIFESTS / "metrics-server.yaml").read_text()
    for key, value in {
        "@IMAGE@": layout.image("metrics-server"),
        "@CA_BUNDLE@": b64("ca.crt"),
        "@TLS_CRT@": b64("metrics-server.crt"),
        "@TLS_KEY@": b64("metrics-server.key"),
    }.items():
        metrics = metrics.replace(key, value)
    return coredns.rstrip("\n") + "\n---\n" + metrics


def apply(layout: Layout, kubectl: list[str]) -> None:
    sh.run([*kubectl, "apply", "-f", "-"], stdin=render(layout))


def wait(kubectl: list[str]) -> None:
    sh.wait_for(
        "CoreDNS rollout",
        120,
        lambda: sh.ok(
            [
                *kubectl,
                "-n",
                "kube-system",
                "rollout",
                "status",
                "deployment/coredns",
                "--timeout=2s",
            ]
        ),
    )
    # Available: the apiserver reaches metrics-server, which holds two scrapes of the kubelet
    sh.wait_for(
        "APIService v1beta1.metrics.k8s.io Available (metrics-server)",
        120,
        lambda: sh.ok(
            [
                *kubectl,
                "wait",
                "apiservice/v1beta1.metrics.k8s.io",
                "--for=condition=Available",
                "--timeout=2s",
            ]
        ),
    )
