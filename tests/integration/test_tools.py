"""The pinned tools `make tools` links into bin/ run and report the pinned versions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "hack" / "versions.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


def _run(tool: str, *args: str) -> str:
    path = REPO / "bin" / tool
    if not path.exists():
        pytest.fail(f"{tool} not found at {path}: run `make tools`", pytrace=False)
    done = subprocess.run(
        [str(path), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{tool} {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout + done.stderr


def test_helm_reports_the_pinned_version() -> None:
    assert _pins()["HELM_VERSION"] in _run("helm", "version", "--short")


def test_helm_unittest_plugin_runs() -> None:
    out = _run("helm", "unittest", "--help")
    assert "helm unittest" in out
    assert "unittest" in _run("helm", "plugin", "list")


def test_kubectl_reports_the_pinned_client_version() -> None:
    out = _run("kubectl", "version", "--client")
    assert f"Client Version: {_pins()['KUBERNETES_VERSION']}" in out


def test_kube_apiserver_reports_the_pinned_version() -> None:
    assert f"Kubernetes {_pins()['KUBERNETES_VERSION']}" in _run("kube-apiserver", "--version")


def test_etcd_reports_the_pinned_version() -> None:
    assert f"etcd Version: {_pins()['ETCD_VERSION'].lstrip('v')}" in _run("etcd", "--version")
