"""Helpers for the image tests: our own dockerd (from `make images`) and the local registry."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

DOCKER_SOCK = Path("/run/kserve-py/docker.sock")
REGISTRY = "127.0.0.1:5000"
REGISTRY_NAME = "registry.kserve-py.test"
TAG = "0.1.0"
PYTHON_IMAGES = [
    "model-server",
    "model-server-xgboost",
    "model-server-lightgbm",
    "model-server-onnx",
    "model-server-tensorflow",
    "model-server-torch",
    "storage-initializer",
    "agent",
    "controller",
    "router",
    "gcs-emulator",
    "https-server",
]
ALL_IMAGES = [*PYTHON_IMAGES, "pause", "coredns", "metrics-server", "traefik", "keda", "prometheus"]


def image(name: str) -> str:
    return f"{REGISTRY_NAME}/kserve-py/{name}:{TAG}"


def docker(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Debian's docker CLI on our own daemon's socket (never another daemon)."""
    if not DOCKER_SOCK.exists():
        pytest.fail(
            f"no dockerd at {DOCKER_SOCK}: run `make images` first (hack/images/dockerd.sh)"
        )
    cmd = ["/usr/bin/docker", "-H", f"unix://{DOCKER_SOCK}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_json(url: str, body: object | None = None, *, timeout: float = 5) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def wait_until(probe: Callable[[], bool], *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Container:
    """A detached container on the host network; logs shown when a test fails on it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def running(self) -> bool:
        out = docker("inspect", "-f", "{{.State.Running}}", self.name, check=False)
        return out.stdout.strip() == "true"

    def logs(self) -> str:
        out = docker("logs", self.name, check=False)
        return (out.stdout + out.stderr)[-4000:]
