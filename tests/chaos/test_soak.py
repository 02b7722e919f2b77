"""Scenario 8 (`make chaos` only): a soak of mixed V1/V2 load on one model server.

SOAK_SECONDS (default 600; set it lower to try the scenario) of paced load, V1 predict and V2
infer in turn, after a warm-up that is not measured: no request may fail, the server's resident
memory (every process of its container, read on the node) may grow less than 10 % from the
soak's start to its end, and the last minute's p99 latency may be at most 1.25 times the first
minute's. The server must be the same process throughout (no restart hides a leak).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import chaos_node
import pytest
from chaos_cluster import IRIS_BODY, IRIS_ROW, IsvcFactory, iris_check
from chaos_load import Outcome, Target, mixed, percentile
from chaos_results import ResultsFile
from chaos_watch import UsageLog

SCENARIO = 8  # CHAOS_SCENARIOS selects by this number (conftest)
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS") or 600)
RATE = 40  # requests a second, V1 and V2 together
# Seconds of load before the soak, so its first minute is the steady state the rest is compared
# with: first allocations and connection pools, and Linux's 60 s TIME_WAIT, within which the
# half of the workers that connect per request (20 a second) piles up ~1,200 closed sockets
# (and conntrack entries) that every later minute carries and the first minute after a 30 s
# warm-up did not yet.
WARM_UP = 60.0
MINUTE = min(60.0, SOAK_SECONDS / 2)  # the first and last windows compared
RSS_GROWTH = 0.10
P99_RATIO = 1.25
V2_BODY = json.dumps(
    {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}
).encode()


def v2_check(status: int, body: bytes) -> str | None:
    """A V2 answer for IRIS_ROW: one iris class."""
    try:
        data = json.loads(body)["outputs"][0]["data"]
    except (ValueError, KeyError, IndexError, TypeError):
        return f"not a V2 answer: {body[:200]!r}"
    return None if len(data) == 1 and data[0] in (0, 1, 2) else str(data)


def p99_by_mode(outcomes: list[Outcome], since: float, until: float) -> str:
    """`keep-alive X ms, a connection per request Y ms`: the window's p99 of each half of the
    workers (a rise in only the second is the connections' setup, not the server)."""
    found = []
    for keepalive, mode in ((True, "keep-alive"), (False, "a connection per request")):
        latencies = [
            o.latency
            for o in outcomes
            if since <= o.start < until and not o.failed and o.keepalive == keepalive
        ]
        found.append(f"{mode} {msec(percentile(latencies, 99) or 0)}")
    return ", ".join(found)


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def msec(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@pytest.mark.timeout(SOAK_SECONDS + WARM_UP + 600)
def test_mixed_v1_v2_soak(isvc_factory: IsvcFactory, results: ResultsFile) -> None:
    isvc = isvc_factory("soak", replicas=1)
    [pod] = isvc.pods()
    cid = chaos_node.container_id(pod, "kserve-container")
    targets = [
        Target(isvc.predict_url(), IRIS_BODY, iris_check, name="v1"),
        Target(isvc.service_url(f"/v2/models/{isvc.name}/infer"), V2_BODY, v2_check, name="v2"),
    ]
    with mixed(targets, rate=RATE) as load, UsageLog(cid, clock=load.recorder.now) as usage:
        time.sleep(WARM_UP)
        start = load.mark("soak")
        time.sleep(SOAK_SECONDS)
        end = load.mark("end")
    [after] = isvc.pods()
    assert chaos_node.container_id(after, "kserve-container") == cid, "the server restarted"
    whole = load.summary(since=start, until=end)
    first = load.summary(since=start, until=start + MINUTE)
    last = load.summary(since=end - MINUTE, until=end)
    assert first.p99_before is not None and last.p99_before is not None, "no answer at all"
    ratio = last.p99_before / first.p99_before
    u_start, u_first, u_last, u_end = (
        usage.at(t) for t in (start, start + MINUTE, end - MINUTE, end)
    )
    growth = u_end.rss / u_start.rss - 1
    peak = max(u.rss for u in usage.samples if start <= u.at <= end + usage.every)
    # the server's CPU per answer, first and last window: what the server does, whatever else
    # runs on this (shared) machine; the load average says how busy the machine was
    cpu_first = (u_first.cpu - u_start.cpu) / max(first.total, 1)
    cpu_last = (u_end.cpu - u_last.cpu) / max(last.total, 1)
    by_target = {
        t.name: sum(o.target == t.name for o in load.recorder.snapshot() if start <= o.start < end)
        for t in targets
    }
    # the row's "added" latency: last minute minus first; nothing to recover from
    row = dataclasses.replace(
        whole,
        p50_before=first.p50_before,
        p99_before=first.p99_before,
        p50_after=last.p50_before,
        p99_after=last.p99_before,
        recovery=0.0 if whole.failed == 0 else None,
    )
    notes = (
        f"{SOAK_SECONDS:.0f} s, {RATE} req/s V1/V2 in turn ({by_target['v1']:,} / "
        f"{by_target['v2']:,}) after {WARM_UP:.0f} s warm-up; p99 first {MINUTE:.0f} s "
        f"{msec(first.p99_before)}, last {msec(last.p99_before)} ({ratio:.2f}x; by mode first "
        f"{p99_by_mode(load.recorder.snapshot(), start, start + MINUTE)}, last "
        f"{p99_by_mode(load.recorder.snapshot(), end - MINUTE, end)}); RSS "
        f"{mib(u_start.rss)} -> {mib(u_end.rss)} ({growth * 100:+.1f} %), peak {mib(peak)}; "
        f"server CPU a request {msec(cpu_first)} first, {msec(cpu_last)} last; node load "
        f"average {u_first.load:.1f} first, {u_end.load:.1f} last ({os.cpu_count()} CPUs)"
    )
    results.add("8. soak, mixed V1/V2", row, notes=notes)
    print(f"soak: {whole.total} requests, failures: {whole.failures()}")
    print(notes)
    outcomes = load.recorder.snapshot()
    for at in range(int(start), int(end), int(MINUTE)):  # the trend, window by window
        window = load.summary(since=at, until=min(at + MINUTE, end))
        print(
            f"  +{at - start:4.0f} s: {window.total} requests, p50 {msec(window.p50_before or 0)}, "
            f"p99 {msec(window.p99_before or 0)} ({p99_by_mode(outcomes, at, at + MINUTE)}), "
            f"load average {usage.at(at + MINUTE).load:.1f}"
        )
    assert whole.failed == 0, whole.failures()
    assert growth < RSS_GROWTH, notes
    assert ratio <= P99_RATIO, notes
