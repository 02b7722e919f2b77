"""The fault suite's load client and recorder (tests/chaos/chaos_load.py) against a real HTTP
server on loopback: what it counts, how it paces, how it names failures and recovery."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "chaos"))

import chaos_load
from chaos_load import OK, Outcome, Recorder


class Server(ThreadingHTTPServer):
    daemon_threads = True
    status = 200
    delay = 0.0

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the timeout test) is no error here


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.server.delay)
        body = b'{"predictions": [1]}'
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv: Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/v1/models/m:predict"


def test_paced_load_sends_its_rate_and_counts_every_answer(server: Server) -> None:
    with chaos_load.steady(url(server), body=b"{}", rate=100, workers=4) as load:
        time.sleep(1.5)
    summary = load.summary()
    assert 120 <= summary.total <= 170  # 100 a second for 1.5 s, give or take start and stop
    assert summary.failed == 0 and summary.by_kind == {}
    assert summary.p50_before is not None and 0 < summary.p50_before < 0.5
    assert {o.keepalive for o in load.recorder.outcomes} == {True, False}
    assert sum(w.total for w in summary.windows) == summary.total


def test_errors_are_counted_by_kind_and_recovery_runs_to_the_first_success_after(
    server: Server,
) -> None:
    with chaos_load.steady(url(server), body=b"{}", rate=100, workers=4) as load:
        time.sleep(0.5)
        server.status = 503
        fault = load.mark("fault")
        time.sleep(0.5)
        server.status = 200
        healed = load.recorder.now()
        time.sleep(0.5)
    summary = load.summary(fault="fault")
    assert set(summary.by_kind) == {"http-503"}
    assert 30 <= summary.failed <= 70
    assert summary.recovery is not None
    assert healed - fault - 0.1 <= summary.recovery <= healed - fault + 0.2


def test_a_slow_fast_failure_does_not_speed_the_load_up() -> None:
    with socket.socket() as sock:  # a port nobody listens on: every connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = f"http://127.0.0.1:{port}/"
    with chaos_load.steady(target, body=b"{}", rate=50, workers=2) as load:
        time.sleep(1.0)
    summary = load.summary()
    assert summary.by_kind == {"refused": summary.total}
    assert 40 <= summary.total <= 65


def test_a_wrong_answer_and_a_timeout_are_failures(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(status: int, body: bytes) -> str | None:
        return "not class 2" if b"[2]" not in body else None

    with chaos_load.steady(url(server), body=b"{}", rate=20, workers=2, check=check) as load:
        time.sleep(0.5)
    assert set(load.summary().by_kind) == {"wrong-answer"}
    monkeypatch.setattr(chaos_load, "REQUEST_TIMEOUT", 0.2)
    server.delay = 0.5
    with chaos_load.steady(url(server), body=b"{}", rate=10, workers=2) as load:
        time.sleep(0.5)
    assert set(load.summary().by_kind) == {"timeout"}


def test_mixed_load_sends_each_target_in_turn_and_names_its_outcomes(server: Server) -> None:
    def wants_v2(status: int, body: bytes) -> str | None:
        return "not a V2 answer" if b"outputs" not in body else None

    targets = [
        chaos_load.Target(url(server), b"{}", name="v1"),
        chaos_load.Target(url(server), b"{}", check=wants_v2, name="v2"),
    ]
    with chaos_load.mixed(targets, rate=40, workers=4) as load:
        time.sleep(1.0)
    record = load.recorder.snapshot()
    by_target = {name: [o for o in record if o.target == name] for name in ("v1", "v2")}
    assert abs(len(by_target["v1"]) - len(by_target["v2"])) <= 4  # one each per worker, at most
    assert {o.kind for o in by_target["v1"]} == {OK}
    assert {o.kind for o in by_target["v2"]} == {"wrong-answer"}  # the test server answers V1


def outcomes(*spec: tuple[float, str]) -> list[Outcome]:
    return [Outcome(start=t, latency=0.01, kind=kind) for t, kind in spec]


def test_recovery_from_recorded_outcomes() -> None:
    record = outcomes((0.0, OK), (1.0, "refused"), (1.5, "reset"), (1.6, OK), (2.0, OK))
    assert chaos_load.recovery(record, 0.9) == pytest.approx(1.61 - 0.9)
    assert chaos_load.recovery(record, 1.7) == 0.0  # nothing failed after it
    assert chaos_load.recovery(outcomes((1.0, OK), (2.0, "timeout")), 0.5) is None


def test_summary_splits_latency_at_the_fault_mark() -> None:
    recorder = Recorder(clock=lambda: 0.0)
    for i in range(100):
        recorder.add(Outcome(start=i / 10, latency=0.010 if i < 50 else 0.030, kind=OK))
    recorder.mark("fault", at=5.0)
    summary = recorder.summary(fault="fault")
    assert summary.p50_before == pytest.approx(0.010)
    assert summary.added_p50 == pytest.approx(0.020)
    assert summary.added_p99 == pytest.approx(0.020)
    assert [w.second for w in summary.windows] == list(range(10))
    assert summary.failures() == "none"
    late = recorder.summary(since=5.0, until=7.0)
    assert late.total == 20 and late.p99_before == pytest.approx(0.030)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert chaos_load.percentile(values, 50) == 50.0
    assert chaos_load.percentile(values, 99) == 99.0
    assert chaos_load.percentile([3.0], 99) == 3.0
    assert chaos_load.percentile([], 50) is None
