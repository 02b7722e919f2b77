"""The `kserve-model-server` command as a ServingRuntime starts it: real process, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kserve_server.__main__ import parser

Started = tuple[subprocess.Popen[str], int, str]


def start(args: list[str], *, script: str | None = None) -> Started:
    """The process, its port, and what it logged until it listened."""
    command = (
        [sys.executable, "-c", script] if script else [sys.executable, "-m", "kserve_server", *args]
    )
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    early = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        early += line
        if match := re.search(r"listening on [\d.]+:(\d+)", line):
            return proc, int(match.group(1)), early
    proc.kill()
    raise AssertionError(f"server did not start: {proc.stderr.read()}")


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def grpc_model_ready(port: int, name: str) -> bool:
    import grpc

    from kserve_server.protocol import open_inference_pb2 as pb

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        rpc = channel.unary_unary(
            "/inference.GRPCInferenceService/ModelReady",
            request_serializer=pb.ModelReadyRequest.SerializeToString,
            response_deserializer=pb.ModelReadyResponse.FromString,
        )
        return bool(rpc(pb.ModelReadyRequest(name=name), timeout=10).ready)


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if get(f"http://127.0.0.1:{port}/v2/health/ready")[0] == 200:
            return
        time.sleep(0.05)
    raise AssertionError("not ready in 60s")


@pytest.fixture
def iris_server(models_dir: Path) -> Iterator[Started]:
    proc, port, early = start(
        [
            "--model_name=sklearn-iris",
            f"--model_dir={models_dir / 'sklearn-iris'}",
            "--http_port=0",
            "--host=127.0.0.1",
            "--framework=sklearn",
            "--grpc_port=0",
            "--workers=1",
            "--enable_docs_url=true",
            "--some_future_flag=1",
            "--predictor_host=foo",
        ]
    )
    yield proc, port, early
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_upstream_flags_and_unknown_flags_do_not_crash(
    iris_server: Started,
) -> None:
    proc, port, early = iris_server
    wait_ready(port)
    status, body = get(f"http://127.0.0.1:{port}/v1/models/sklearn-iris")
    assert (status, body) == (200, b'{"name":"sklearn-iris","ready":true}')
    assert get(f"http://127.0.0.1:{port}/docs")[0] == 200
    match = re.search(r"gRPC serving on 127\.0\.0\.1:(\d+)", early)  # --grpc_port=0: any port
    assert match, early
    assert grpc_model_ready(int(match.group(1)), "sklearn-iris")
    assert "event loop: uvloop" in early  # --event-loop auto, and the sklearn extra brings uvloop
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert proc.stderr is not None
    log = early + proc.stderr.read()
    assert "ignoring unknown arguments: --some_future_flag=1" in log
    assert "--predictor_host=foo is accepted for compatibility and has no effect" in log


def test_missing_model_exits_1_with_the_reason(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kserve_server",
            f"--model_dir={tmp_path}",
            "--http_port=0",
            "--grpc_port=0",
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "no sklearn model file (*.joblib, *.pkl, *.pickle) in" in proc.stderr


def test_bad_flag_value_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kserve_server", "--enable_docs_url=maybe"],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "expected a boolean" in proc.stderr


def test_defaults_match_upstream() -> None:
    args, _ = parser().parse_known_args([])
    assert (args.model_name, args.model_dir, args.http_port) == ("model", Path("/mnt/models"), 8080)
    assert args.framework == "sklearn"


def test_limit_flags_override_env_which_overrides_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kserve_server.__main__ import limits
    from kserve_server.settings import ServerSettings

    monkeypatch.setenv("KSERVE_SERVER_MAX_DECODING_WAITERS", "4")
    monkeypatch.setenv("KSERVE_SERVER_MAX_BODY_BYTES", "2048")
    args, _ = parser().parse_known_args(["--max_body_bytes=4096", "--body_read_timeout=5"])
    settings = ServerSettings(**limits(args))
    assert (settings.max_body_bytes, settings.body_read_timeout) == (4096, 5.0)  # flags
    assert settings.max_decoding_waiters == 4  # env
    assert settings.body_first_byte_timeout == 30.0 and settings.max_decoding_bytes == 64 << 20


def test_env_is_read_in_any_case_nested_settings_as_json_and_bad_values_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from kserve_server.settings import ServerSettings

    monkeypatch.setenv("kserve_server_grace_period", "7.5")
    monkeypatch.setenv("KSERVE_SERVER_LOGGER", '{"url": "http://sink:8000", "mode": "request"}')
    monkeypatch.setenv("KSERVE_SERVER_NOT_A_FIELD", "1")  # not ours to refuse: ignored
    monkeypatch.setenv("KSERVE_OPENAI_ROUTE_PREFIX", "llm/api")  # upstream's name, no prefix
    settings = ServerSettings()
    assert settings.grace_period == 7.5
    assert settings.openai_route_prefix == "llm/api"
    assert ServerSettings(openai_route_prefix="x").openai_route_prefix == "x"
    assert settings.logger is not None and settings.logger.url == "http://sink:8000"
    assert settings.logger.mode == "request"
    monkeypatch.setenv("KSERVE_SERVER_HTTP_PORT", "eighty")
    with pytest.raises(ValidationError, match="http_port"):
        ServerSettings()
    assert ServerSettings(http_port=81).http_port == 81  # given beats the environment


SLOW = textwrap.dedent(
    """
    import logging, sys, time
    from kserve_server import server
    from kserve_server.inference import PredictResponse
    from kserve_server.runtimes.base import Model
    from kserve_server.settings import ServerSettings

    class Slow(Model):
        def predict(self, request):
            time.sleep(float(request.instances[0]))
            return PredictResponse(predictions=["done"])

    logging.basicConfig(level="INFO")
    sys.exit(server.run(ServerSettings(host="127.0.0.1", http_port=0, grace_period=10),
                        models=[Slow("slow")]))
    """
)


def test_sigterm_drains_in_flight_requests_then_exits_0() -> None:
    proc, port, _ = start([], script=SLOW)
    try:
        wait_ready(port)
        # a 2000-element body goes inline; 5000 goes to a worker thread: drain both kinds
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/models/slow:predict",
            data=b'{"instances": [1.5' + b", 0" * 4999 + b"]}",
            headers={"Content-Type": "application/json"},
        )
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(lambda: urllib.request.urlopen(request, timeout=30).read())
            time.sleep(0.5)  # the request is in the model now
            os.kill(proc.pid, signal.SIGTERM)
            assert future.result(timeout=30) == b'{"predictions":["done"]}'
        assert proc.wait(30) == 0
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and "spawn_main" in (entry / "cmdline").read_text():
                found.add(int(entry.name))
    return found


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_workers_share_the_port_and_a_dead_worker_is_replaced(models_dir: Path) -> None:
    port, grpc_port = free_port(), free_port()
    proc, _, _ = start(
        [
            "--model_name=sklearn-iris",
            f"--model_dir={models_dir / 'sklearn-iris'}",
            f"--http_port={port}",
            f"--grpc_port={grpc_port}",
            "--host=127.0.0.1",
            "--workers=2",
        ]
    )
    try:
        wait_ready(port)
        deadline = time.monotonic() + 60
        while len(workers := children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = children(proc.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.2)
        assert victim not in children(proc.pid) and len(children(proc.pid)) == 2
        wait_ready(port)
        for _ in range(10):
            assert get(f"http://127.0.0.1:{port}/v1/models/sklearn-iris")[0] == 200
            assert grpc_model_ready(grpc_port, "sklearn-iris")  # every worker serves gRPC too
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert not children(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_model_repository_layout_serves_each_subdirectory(models_dir: Path) -> None:
    # models_dir holds sklearn-iris/ and intent-classifier/, no model file of its own
    proc, port, _ = start(
        [f"--model_dir={models_dir}", "--http_port=0", "--grpc_port=0", "--host=127.0.0.1"]
    )
    try:
        wait_ready(port)
        status, body = get(f"http://127.0.0.1:{port}/v1/models")
        assert status == 200
        assert json.loads(body) == {"models": ["intent-classifier", "sklearn-iris"]}
    finally:
        proc.kill()
        proc.wait()


def test_json_logs(models_dir: Path) -> None:
    proc, _, early = start(
        [
            f"--model_dir={models_dir / 'sklearn-iris'}",
            "--http_port=0",
            "--enable_grpc=false",
            "--host=127.0.0.1",
            "--log_format=json",
            "--no_such_flag",
        ]
    )
    proc.kill()
    proc.wait()
    entries = [json.loads(line) for line in early.splitlines()]
    assert {"time", "level", "logger", "process", "message"} <= set(entries[0])
    assert any(e["message"] == "ignoring unknown arguments: --no_such_flag" for e in entries)
    assert any(e["message"].startswith("listening on 127.0.0.1:") for e in entries)
    assert not any("gRPC" in e["message"] for e in entries)  # --enable_grpc=false


STUCK = textwrap.dedent(
    """
    import logging, sys, threading
    from kserve_server import server
    from kserve_server.runtimes.base import Model
    from kserve_server.settings import ServerSettings

    class Stuck(Model):
        def load(self):
            threading.Event().wait()  # a load that never ends

        def predict(self, request):
            raise AssertionError

    logging.basicConfig(level="INFO")
    sys.exit(server.run(ServerSettings(host="127.0.0.1", http_port=0), models=[Stuck("stuck")]))
    """
)


def test_sigterm_during_a_load_exits_promptly() -> None:
    proc, port, _ = start([], script=STUCK)
    try:
        assert get(f"http://127.0.0.1:{port}/v2/health/ready")[0] == 503
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_without_grpcio_the_cli_serves_rest_and_says_why(models_dir: Path) -> None:
    # as `pip install kserve-py-server` without a framework extra: no grpc module
    script = (
        "import sys; sys.modules['grpc'] = None\n"
        "from kserve_server.__main__ import main\n"
        f"main(['--model_dir={models_dir / 'sklearn-iris'}', '--model_name=sklearn-iris',"
        " '--http_port=0', '--host=127.0.0.1'])\n"
    )
    proc, port, early = start([], script=script)
    try:
        assert "gRPC not served: grpcio is not installed" in early
        wait_ready(port)
        assert get(f"http://127.0.0.1:{port}/v1/models/sklearn-iris")[0] == 200
    finally:
        proc.kill()
        proc.wait()


def test_event_loop_asyncio_serves_on_asyncio_s_loop(models_dir: Path) -> None:
    proc, port, early = start(
        [
            "--model_name=sklearn-iris",
            f"--model_dir={models_dir / 'sklearn-iris'}",
            "--http_port=0",
            "--host=127.0.0.1",
            "--enable_grpc=false",
            "--event-loop=asyncio",
        ]
    )
    try:
        assert "event loop: asyncio" in early
        wait_ready(port)
        assert get(f"http://127.0.0.1:{port}/v1/models/sklearn-iris")[0] == 200
    finally:
        proc.kill()
        proc.wait()


def test_event_loop_uvloop_without_uvloop_exits_with_the_reason(models_dir: Path) -> None:
    script = (
        "import sys; sys.modules['uvloop'] = None\n"
        "from kserve_server.__main__ import main\n"
        f"main(['--model_dir={models_dir / 'sklearn-iris'}', '--http_port=0',"
        " '--event-loop=uvloop'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, check=False, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "--event-loop=uvloop: uvloop is not installed" in proc.stderr
