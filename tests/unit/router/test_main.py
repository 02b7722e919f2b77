"""`kserve-router` as users run it: a process, its flags, its exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

GRAPH = {
    "nodes": {
        "root": {
            "routerType": "Sequence",
            "steps": [{"serviceUrl": "http://127.0.0.1:9/v1/models/x:predict"}],
        }
    }
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kserve_server.router", *args]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, env=env)


def test_a_graph_without_root_exits_2_saying_why() -> None:
    done = run("--graph-json", json.dumps({"nodes": {}}))
    assert done.returncode == 2
    assert "the graph has no node named root" in done.stderr


def test_a_bad_header_pattern_exits_2_naming_it() -> None:
    done = run("--graph-json", json.dumps(GRAPH), env={"PROPAGATE_HEADERS": "ok,(broken"})
    assert done.returncode == 2
    assert "PROPAGATE_HEADERS: pattern '(broken' is invalid" in done.stderr


def test_serves_readyz_then_stops_on_sigterm(unused_tcp_port: int) -> None:
    port = unused_tcp_port
    cmd = [
        sys.executable,
        "-m",
        "kserve_server.router",
        "--graph-json",
        json.dumps(GRAPH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--drain-seconds",
        "0",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        status = _wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        assert status == 200
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 502  # the step's service is not there: named, not a crash
        assert "node root step 0" in json.loads(err.value.read())["cause"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[str]) -> int:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"router exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return int(resp.status)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("router did not answer /readyz")
