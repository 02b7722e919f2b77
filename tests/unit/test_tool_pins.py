"""hack/versions.env and the wrapper modules in hack/tools/ name the same tool versions."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    lines = (REPO / "hack" / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _gomod(name: str) -> str:
    return (REPO / "hack" / "tools" / name / "go.mod").read_text()


def test_kubernetes_wrapper_pins_the_release_and_every_staging_module() -> None:
    version = _pins()["KUBERNETES_VERSION"]
    gomod = _gomod("kubernetes")
    assert re.search(rf"^\s*k8s\.io/kubernetes {re.escape(version)}\b", gomod, re.M)
    staging = re.findall(r"^\s*(k8s\.io/[\w-]+) => (k8s\.io/[\w-]+) (v\S+)$", gomod, re.M)
    assert len(staging) > 20
    expected = "v0." + version.removeprefix("v1.")
    assert {(a, b, v) for a, b, v in staging} == {(a, a, expected) for a, _, _ in staging}


def test_etcd_wrapper_pins_the_release() -> None:
    version = _pins()["ETCD_VERSION"]
    assert re.search(
        rf"^\s*go\.etcd\.io/etcd/server/v3 {re.escape(version)}\b", _gomod("etcd"), re.M
    )


def test_helm_unittest_wrapper_pins_the_release() -> None:
    version = _pins()["HELM_UNITTEST_VERSION"]
    gomod = _gomod("helm-unittest")
    assert re.search(
        rf"^\s*github\.com/helm-unittest/helm-unittest {re.escape(version)}\b", gomod, re.M
    )


def test_metrics_server_wrapper_pins_the_release() -> None:
    version = _pins()["METRICS_SERVER_VERSION"]
    gomod = _gomod("metrics-server")
    assert re.search(rf"^\s*sigs\.k8s\.io/metrics-server {re.escape(version)}\b", gomod, re.M)


def test_traefik_wrapper_pins_the_release() -> None:
    version = _pins()["TRAEFIK_VERSION"]
    gomod = _gomod("traefik")
    assert re.search(rf"^\s*github\.com/traefik/traefik/v3 {re.escape(version)}\b", gomod, re.M)


def test_gateway_api_crds_are_the_version_traefik_is_built_against() -> None:
    version = _pins()["GATEWAY_API_VERSION"]
    assert re.search(
        rf"^\s*sigs\.k8s\.io/gateway-api {re.escape(version)}\b", _gomod("traefik"), re.M
    )


def test_keda_wrapper_pins_the_release_and_its_kubernetes() -> None:
    version = _pins()["KEDA_VERSION"]
    gomod = _gomod("keda")
    assert re.search(rf"^\s*github\.com/kedacore/keda/v2 {re.escape(version)}\b", gomod, re.M)
    # KEDA's own replace lines (copied): without them the scalers build against other versions
    assert re.search(r"^\s*k8s\.io/client-go => k8s\.io/client-go v0\.\d+\.\d+$", gomod, re.M)


def test_prometheus_wrapper_pins_the_release() -> None:
    version = _pins()["PROMETHEUS_VERSION"]
    gomod = _gomod("prometheus")
    assert re.search(rf"^\s*github\.com/prometheus/prometheus {re.escape(version)}\b", gomod, re.M)
