"""The local cluster's event-driven autoscaling: KEDA (hack/cluster/keda.yaml, its CRDs from the
pinned module) behind the aggregation layer, and the Prometheus its prometheus trigger queries
(hack/cluster/prometheus.yaml), so `serving.kserve.io/autoscalerClass: keda` works unchanged.

Applied with the other add-ons as soon as the apiserver answers; `up` waits for them last.
"""

from __future__ import annotations

import base64
from pathlib import Path

from devcluster import sh
from devcluster.controlplane import BIN, ToolMissingError
from devcluster.layout import REPO, Layout

MANIFESTS = REPO / "hack" / "cluster"
# hack/tools.sh (core) links the pinned module's config/crd/bases here
CRDS = BIN / "keda-crds"
SCALED_OBJECTS_CRD = "scaledobjects.keda.sh"
EXTERNAL_METRICS_API = "v1beta1.external.metrics.k8s.io"
# where pods (KEDA's operator among them) reach Prometheus; charts/kserve documents it
PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"


def crd_files(directory: Path = CRDS) -> list[Path]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ToolMissingError(f"no KEDA CRDs in {directory}: run `make tools`")
    return files


def render(layout: Layout) -> str:
    """KEDA's and Prometheus' manifests with our images and KEDA's TLS filled in."""

    def b64(name: str) -> str:
        return base64.b64encode((layout.pki / name).read_bytes()).decode()

    keda = (MANIFESTS / "keda.yaml").read_text()
    for key, value in {
        "@IMAGE@": layout.image("keda"),
        "@CA_BUNDLE@": b64("ca.crt"),
        "@TLS_CRT@": b64("keda.crt"),
        "@TLS_KEY@": b64("keda.key"),
    }.items():
        keda = keda.replace(key, value)
    prometheus = (MANIFESTS / "prometheus.yaml").read_text()
    prometheus = prometheus.replace("@IMAGE@", layout.image("prometheus"))
    return keda.rstrip("\n") + "\n---\n" + prometheus


def apply(layout: Layout, kubectl: list[str]) -> None:
    """The CRDs first (server-side: ScaledJob's is too large for the last-applied annotation of
    a client-side apply), then KEDA and Prometheus."""
    files = [arg for path in crd_files() for arg in ("-f", str(path))]
    sh.run([*kubectl, "apply", "--server-side", "--field-manager=devcluster", *files])
    sh.run([*kubectl, "apply", "-f", "-"], stdin=render(layout))


def _rollout(kubectl: list[str], namespace: str, deployment: str) -> bool:
    return sh.ok(
        [*kubectl, "-n", namespace, "rollout", "status", f"deployment/{deployment}", "--timeout=2s"]
    )


def wait(kubectl: list[str]) -> None:
    sh.wait_for("Prometheus rollout", 120, lambda: _rollout(kubectl, "monitoring", "prometheus"))
    sh.wait_for("KEDA operator rollout", 120, lambda: _rollout(kubectl, "keda", "keda-operator"))
    # Available: the apiserver reaches KEDA's metrics server through the aggregation layer
    sh.wait_for(
        f"APIService {EXTERNAL_METRICS_API} Available (KEDA)",
        120,
        lambda: sh.ok(
            [
                *kubectl,
                "wait",
                f"apiservice/{EXTERNAL_METRICS_API}",
                "--for=condition=Available",
                "--timeout=2s",
            ]
        ),
    )
