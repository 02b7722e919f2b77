"""The local cluster's gateway: Traefik (hack/cluster/traefik.yaml) as the Ingress controller
and Gateway API implementation, with the Gateway API CRDs (standard channel) it was built
against. It serves the ingress and gateway class names charts/kserve defaults to, so the chart
works unchanged, and the host reaches it on 127.0.0.1:<gateway_port> only."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from devcluster import sh
from devcluster.controlplane import BIN, ToolMissingError
from devcluster.layout import REPO, Layout

MANIFEST = REPO / "hack" / "cluster" / "traefik.yaml"
CHART_VALUES = REPO / "charts" / "kserve" / "values.yaml"
# hack/tools.sh (core) links the pinned module's config/crd/standard here
CRDS = BIN / "gateway-api-crds"
GATEWAY_CLASSES_CRD = "gatewayclasses.gateway.networking.k8s.io"


@dataclass(frozen=True)
class Classes:
    ingress: str
    gateway: str


def chart_classes(values: str) -> Classes:
    """The class names in charts/kserve's values.yaml (its text): the Ingress objects' class and
    the class of the Gateway the chart creates."""
    ingress_gateway = yaml.safe_load(values)["kserve"]["controller"]["gateway"]["ingressGateway"]
    return Classes(
        ingress=ingress_gateway["className"], gateway=ingress_gateway["gatewayClassName"]
    )


def render(layout: Layout, classes: Classes) -> str:
    text = MANIFEST.read_text()
    for key, value in {
        "@IMAGE@": layout.image("traefik"),
        "@INGRESS_CLASS@": classes.ingress,
        "@GATEWAY_CLASS@": classes.gateway,
        "@HOST_PORT@": str(layout.gateway_port),
    }.items():
        text = text.replace(key, value)
    return text


def crd_files(directory: Path = CRDS) -> list[Path]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ToolMissingError(f"no Gateway API CRDs in {directory}: run `make tools`")
    return files


def apply(layout: Layout, kubectl: list[str]) -> None:
    """The CRDs first (server-side: the HTTPRoute CRD is too large for the last-applied
    annotation of a client-side apply), then Traefik with its classes once they are served."""
    files = [arg for path in crd_files() for arg in ("-f", str(path))]
    sh.run([*kubectl, "apply", "--server-side", "--field-manager=devcluster", *files])
    sh.wait_for(
        "the Gateway API CRDs to be established",
        60,
        lambda: sh.ok(
            [
                *kubectl,
                "wait",
                f"crd/{GATEWAY_CLASSES_CRD}",
                "--for=condition=Established",
                "--timeout=2s",
            ]
        ),
    )
    classes = chart_classes(CHART_VALUES.read_text())
    sh.run([*kubectl, "apply", "-f", "-"], stdin=render(layout, classes))


def answers(url: str) -> bool:
    """True if an HTTP server answers at url, whatever its status (Traefik says 404 to a host
    it has no route for)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def wait(layout: Layout, kubectl: list[str]) -> None:
    sh.wait_for(
        "Traefik rollout",
        120,
        lambda: sh.ok(
            [
                *kubectl,
                "-n",
                "kube-system",
                "rollout",
                "status",
                "deployment/traefik",
                "--timeout=2s",
            ]
        ),
    )
    gateway_class = chart_classes(CHART_VALUES.read_text()).gateway
    # Accepted: Traefik's Gateway API provider runs, with its RBAC, and owns the class
    sh.wait_for(
        f"GatewayClass {gateway_class} Accepted (Traefik)",
        60,
        lambda: sh.ok(
            [
                *kubectl,
                "wait",
                f"gatewayclass/{gateway_class}",
                "--for=condition=Accepted",
                "--timeout=2s",
            ]
        ),
    )
    sh.wait_for(
        f"the gateway on http://{layout.gateway_address}/",
        30,
        lambda: answers(f"http://{layout.gateway_address}/"),
    )
