"""What the cluster smoke tests share: the cluster's kubectl and kubeconfig (from
hack/tools.sh and hack/cluster/up.sh), our model server image, the iris model and its rows."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

REPO = Path(__file__).resolve().parents[2]


def image(name: str) -> str:
    """One of our images in the cluster's registry (make images)."""
    return f"registry.kserve-py.test/kserve-py/{name}:0.1.0"


IMAGE = image("model-server")
ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
T = TypeVar("T")


def _tool(name: str) -> str:
    out = subprocess.run(
        ["bash", str(REPO / "hack/tools.sh"), "paths"], capture_output=True, text=True, check=True
    ).stdout
    path = dict(line.split("=", 1) for line in out.splitlines())[name]
    if not Path(path).is_file():
        pytest.fail(f"{name} is not built: run `hack/tools.sh cluster` ({path})")
    return path


KUBECTL = _tool("kubectl")
KUBECONFIG = subprocess.run(
    ["bash", str(REPO / "hack/cluster/up.sh"), "kubeconfig"],
    capture_output=True,
    text=True,
    check=True,
).stdout.strip()


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    if not Path(KUBECONFIG).is_file():
        pytest.fail(f"no cluster: {KUBECONFIG} is missing (run `make cluster-up`)")
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", KUBECONFIG, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def apply(manifest: dict[str, object]) -> None:
    kubectl("apply", "-f", "-", stdin=json.dumps(manifest))


def iris_model_bytes() -> bytes:
    import joblib
    from sklearn import datasets, svm

    iris = datasets.load_iris()
    buf = io.BytesIO()
    joblib.dump(svm.SVC(gamma="scale").fit(iris.data, iris.target), buf)
    return buf.getvalue()


def pinned(key: str) -> str:
    """A version pinned in hack/versions.env."""
    for line in (REPO / "hack/versions.env").read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip().strip('"')
    raise KeyError(key)


def eventually(probe: Callable[[], T | None], *, what: str, seconds: float) -> T:
    """probe() until it returns something other than None, every second."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
