"""The stop annotation read as upstream reads it, and the status it gives (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import conditions, stop

NOW = "2026-01-01T00:00:00Z"
EARLIER = "2025-12-31T00:00:00Z"


@pytest.mark.parametrize(
    ("value", "stopped"),
    [("true", True), ("TRUE", True), ("True", True), ("false", False), ("yes", False), ("", False)],
)
def test_only_true_in_any_case_stops(value: str, stopped: bool) -> None:
    assert stop.requested({stop.ANNOTATION: value}) is stopped


def test_no_annotation_does_not_stop() -> None:
    assert not stop.requested(None)
    assert not stop.requested({"other": "true"})


def running_status() -> dict[str, Any]:
    conds = [
        {"type": t, "status": "True", "lastTransitionTime": EARLIER}
        for t in ("IngressReady", "PredictorReady", "Ready")
    ]
    return {"conditions": conds, "url": "http://a.example.com", "address": {"url": "http://a"}}


def test_stopped_status_says_stopped_everywhere_and_gives_no_url() -> None:
    previous = {"status": running_status()}
    new = stop.mark(running_status(), stopped=True, previous=previous, now=NOW)
    by_type = {c["type"]: c for c in new["conditions"]}
    for kind in ("IngressReady", "PredictorReady", "Ready"):
        assert (by_type[kind]["status"], by_type[kind]["reason"]) == ("False", "Stopped")
        assert by_type[kind]["lastTransitionTime"] == NOW
    assert by_type["Stopped"] == {
        "type": "Stopped",
        "status": "True",
        "severity": "Info",
        "lastTransitionTime": NOW,
    }
    assert "url" not in new and "address" not in new
    assert [c["type"] for c in new["conditions"]] == sorted(by_type)


def test_running_status_has_stopped_false_and_keeps_its_times() -> None:
    before = stop.mark(running_status(), stopped=False, previous={}, now=EARLIER)
    again = stop.mark(running_status(), stopped=False, previous={"status": before}, now=NOW)
    assert again == before  # nothing changed: no status write
    flag = next(c for c in again["conditions"] if c["type"] == "Stopped")
    assert (flag["status"], flag["severity"]) == ("False", "Info")
    assert again["url"] == "http://a.example.com"


def test_replace_turns_ready_false_with_the_new_reason() -> None:
    previous = {"status": running_status()}
    new = conditions.replace(
        running_status(),
        conditions.condition("IngressReady", "False", "NotSupported", "no gateway"),
        previous=previous,
        now=NOW,
    )
    by_type = {c["type"]: c for c in new["conditions"]}
    assert by_type["IngressReady"]["reason"] == "NotSupported"
    assert (by_type["Ready"]["status"], by_type["Ready"]["reason"]) == ("False", "NotSupported")
    assert by_type["PredictorReady"]["lastTransitionTime"] == EARLIER


def test_replace_keeps_ready_blaming_another_condition() -> None:
    status = running_status()
    status["conditions"][1] = {"type": "PredictorReady", "status": "False", "reason": "Pending"}
    status["conditions"][2] = {"type": "Ready", "status": "False", "reason": "Pending"}
    new = conditions.replace(
        status,
        conditions.condition("IngressReady", "False", "NotSupported", "no gateway"),
        previous={},
        now=NOW,
    )
    ready = next(c for c in new["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "Pending"
