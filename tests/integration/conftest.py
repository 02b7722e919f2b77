"""Session fixtures for integration tests: a real etcd + kube-apiserver (see kubeapi.py).

`apiserver` starts lazily, once per session, only when a test asks for it; it needs
`make tools` (bin/etcd, bin/kube-apiserver) and fails, naming the tool, without them.
`sdk_python` is the upstream kserve SDK's own venv, shared by the server's and the controller's
SDK tests.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import kubeapi
import kubernetes.client
import pytest

REPO = Path(__file__).resolve().parents[2]
_started: list[kubeapi.ApiServer] = []


def _serve(*, watch_cache: bool) -> Iterator[kubeapi.ApiServer]:
    try:
        with kubeapi.running(watch_cache=watch_cache) as server:
            _started.append(server)
            yield server
    except kubeapi.ToolMissingError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def apiserver() -> Iterator[kubeapi.ApiServer]:
    """A running kube-apiserver + etcd on loopback ports; stopped and wiped at session end."""
    yield from _serve(watch_cache=True)


@pytest.fixture(scope="session")
def apiserver_uncached() -> Iterator[kubeapi.ApiServer]:
    """Like `apiserver`, with the watch cache off: `compact_etcd()` alone forces 410 Gone."""
    yield from _serve(watch_cache=False)


@pytest.fixture(scope="session")
def kube_client(apiserver: kubeapi.ApiServer) -> kubernetes.client.ApiClient:
    """The admin `kubernetes` ApiClient of the session's apiserver."""
    return apiserver.client


@pytest.fixture(scope="session")
def sdk_python() -> str:
    """The python of hack/kserve-sdk-venv.sh's venv; our own venv must not see `kserve`."""
    check = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('kserve'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "None", "the upstream SDK must not be importable from our venv"
    proc = subprocess.run(
        ["bash", str(REPO / "hack" / "kserve-sdk-venv.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"cannot build the kserve SDK venv:\n{proc.stderr}"
    return proc.stdout.strip().splitlines()[-1]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for server in _started:
        terminalreporter.write_line(
            f"apiserver fixture: etcd + kube-apiserver ready in {server.startup_seconds:.1f}s"
            f" (watch cache {'on' if server.watch_cache else 'off'})"
        )
