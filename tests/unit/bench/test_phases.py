"""The phase breakdown of a pod's start (bench/phases.py): fed what a watch and `kubectl logs
--timestamps` show, it says how long each phase took."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bench import phases

T0 = phases.parse_time("2026-12-08T00:00:00Z")


def stamp(offset: float) -> str:
    return phases.datetime.datetime.fromtimestamp(T0 + offset, phases.datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def pod(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "iris-predictor-abc", "creationTimestamp": stamp(0)},
        "status": status,
    }


def condition(kind: str, at: float) -> dict[str, str]:
    return {"type": kind, "status": "True", "lastTransitionTime": stamp(at)}


def test_parse_time_reads_whole_seconds_and_the_kubelet_s_nanoseconds() -> None:
    assert phases.parse_time("2026-12-08T00:00:01Z") == T0 + 1
    assert phases.parse_time("2026-12-08T00:00:01.250000000Z") == pytest.approx(T0 + 1.25)
    assert phases.parse_time("2026-12-08T01:00:01+01:00") == T0 + 1
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        phases.parse_time("yesterday")


def test_a_start_watched_event_by_event_is_cut_into_every_phase() -> None:
    timeline = phases.Timeline(start=T0 - 0.4)
    phases.observe_pod(timeline, pod(), at=T0 + 0.1)
    phases.observe_pod(timeline, pod(conditions=[condition("PodScheduled", 0)]), at=T0 + 0.3)
    init = {"name": "storage-initializer", "state": {"running": {"startedAt": stamp(1)}}}
    phases.observe_pod(timeline, pod(initContainerStatuses=[init]), at=T0 + 1.5)
    init = {
        "name": "storage-initializer",
        "state": {"terminated": {"exitCode": 0, "startedAt": stamp(1), "finishedAt": stamp(2)}},
    }
    server = {"name": "kserve-container", "state": {"running": {"startedAt": stamp(2)}}}
    phases.observe_pod(
        timeline,
        pod(podIP="10.0.0.7", initContainerStatuses=[init], containerStatuses=[server]),
        at=T0 + 2.6,
    )
    log = (
        "2026-12-08T00:00:03.100000000Z 2026-12-08 00:00:02.000 1 kserve_server INFO listening\n"
        "2026-12-08T00:00:04.200000000Z 2026-12-08 00:00:04.200 1 kserve_server.repository "
        "INFO model iris: ready in 1.10s\n"
    )
    phases.model_ready_from_log(timeline, log, model="iris")
    phases.observe_pod(timeline, pod(conditions=[condition("Ready", 5)]), at=T0 + 5.3)
    endpoint = {"addresses": ["10.0.0.7"], "conditions": {"ready": True}}
    phases.observe_slice(timeline, {"endpoints": [endpoint]}, at=T0 + 5.5)
    timeline.mark("answered", T0 + 5.6)

    got = {name: round(seconds, 3) for name, seconds in timeline.phases().items()}
    assert got == {
        "controller": 0.5,
        "scheduling": 0.2,
        "sandbox": 1.2,  # the event at 1.5 s: its stamp (1 s) is within the second before
        "storage_initializer": 1.1,
        "container_start": 0.0,  # seen in the same event as the initializer's exit
        "server_start": 1.6,
        "readiness": 1.1,
        "endpoints": 0.2,
        "answer": 0.1,
        "total": 6.0,
    }


def test_what_happened_between_two_events_is_placed_by_its_stamp() -> None:
    timeline = phases.Timeline(start=T0)
    phases.observe_pod(timeline, pod(conditions=[condition("PodScheduled", 0)]), at=T0 + 0.2)
    init = {
        "name": "storage-initializer",
        "state": {"terminated": {"exitCode": 0, "startedAt": stamp(1), "finishedAt": stamp(3)}},
    }
    phases.observe_pod(timeline, pod(initContainerStatuses=[init]), at=T0 + 3.4)
    # 2.4 s before the event: the middle of its stamp's second
    assert timeline.marks["initializer_started"] == T0 + 1.5
    assert timeline.marks["initializer_done"] == T0 + 3.4  # within the second: the event


def test_a_failed_initializer_or_a_not_ready_endpoint_marks_nothing() -> None:
    timeline = phases.Timeline(start=T0, pod="iris-predictor-abc")
    init = {"name": "storage-initializer", "state": {"terminated": {"exitCode": 1}}}
    phases.observe_pod(timeline, pod(initContainerStatuses=[init]), at=T0 + 1)
    endpoint = {
        "addresses": ["10.0.0.7"],
        "targetRef": {"name": "iris-predictor-abc"},
        "conditions": {"ready": False},
    }
    phases.observe_slice(timeline, {"endpoints": [endpoint]}, at=T0 + 2)
    other = {"addresses": ["10.0.0.8"], "targetRef": {"name": "x"}, "conditions": {"ready": True}}
    phases.observe_slice(timeline, {"endpoints": [other]}, at=T0 + 2)
    assert "initializer_done" not in timeline.marks
    assert "endpoint_ready" not in timeline.marks


def test_a_pod_without_an_initializer_has_no_such_phases() -> None:
    timeline = phases.Timeline(start=T0)
    timeline.mark("scheduled", T0 + 1)
    timeline.mark("server_started", T0 + 2)
    timeline.mark("answered", T0 + 4)
    assert timeline.phases() == {
        "scheduling": 1.0,
        "container_start": 1.0,
        "answer": 2.0,
        "total": 4.0,
    }
    with pytest.raises(ValueError, match="unknown mark"):
        timeline.mark("lunch", T0)


def test_summary_gives_p50_and_p95_per_phase_and_a_table() -> None:
    timelines = []
    for k in range(10):
        timeline = phases.Timeline(start=T0)
        timeline.mark("pod_ready", T0 + 1 + k)
        timeline.mark("endpoint_ready", T0 + 1.5 + k)
        timelines.append(timeline)
    summary = phases.summarize(timelines)
    assert list(summary) == ["readiness", "endpoints", "total"]
    assert summary["readiness"] == {"n": 10, "p50": 5.5, "p95": pytest.approx(9.55)}
    assert summary["endpoints"]["p95"] == pytest.approx(0.5)
    assert "| readiness | 10 | 5.50 | 9.55 |" in phases.markdown(summary)
