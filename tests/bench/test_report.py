"""Ratios are taken within a round, and the goals say met / missed / not measured."""

from typing import Any

import pytest

from bench import report


def cell(rps: float, p99_us: float, cpu_us: float = 100.0) -> dict[str, Any]:
    return {
        "rps": rps,
        "p50_us": p99_us / 2,
        "p99_us": p99_us,
        "errors": 0,
        "requests": 100,
        "cpu_us_per_req": cpu_us,
    }


def run(cells: dict[str, Any], *, start: float = 0.5, rss_kib: int = 100 * 1024) -> dict[str, Any]:
    memory = {"rss_kib": rss_kib, "pss_kib": rss_kib, "processes": 1}
    return {"start_to_ready_s": start, "memory": memory, "cells": cells}


def test_ratios_are_per_round_then_median() -> None:
    # round 2 is twice as fast for both servers: drift cancels within a round
    rounds = [
        {
            "ours": run({"v1-row@16": cell(900, 1000, cpu_us=110)}),
            "ceiling": run({"v1-row@16": cell(1000, 1000)}),
        },
        {
            "ours": run({"v1-row@16": cell(1800, 500, cpu_us=110)}),
            "ceiling": run({"v1-row@16": cell(2000, 500)}),
        },
    ]
    summary = report.summarize(rounds)
    assert summary["ratios"]["ours/ceiling"]["v1-row@16"] == pytest.approx(
        {"rps": 0.9, "p99": 1.0, "cpu": 1.1}
    )
    assert summary["servers"]["ours"]["cells"]["v1-row@16"]["rps"] == 1350


def test_goals_met_missed_and_not_measured() -> None:
    rounds = [
        {
            "ours": run({"v1-row@16": cell(700, 100)}, start=0.4, rss_kib=50 * 1024),
            "ceiling": run({"v1-row@16": cell(1000, 100)}),
            "kserve": run({"v1-row@16": cell(300, 1000)}, rss_kib=200 * 1024),
        }
    ]
    goals = {g["goal"]: g["met"] for g in report.goals(report.summarize(rounds))}
    assert goals["req/s v1-row@16 ≥ 0.8x ceiling"] is False
    assert goals["p99 v1-row@16 ≤ 0.4x kserve"] is True
    assert goals["req/s v2-row@64 ≥ 0.8x ceiling"] is None
    assert goals["CPU/req v1-row@16 ≤ 1.25x ceiling (load-independent proxy)"] is True
    assert goals["start→ready ≤ 1 s"] is True
    assert goals["RSS ≤ upstream KServe's (MiB)"] is True


def test_a_failed_server_is_left_out_not_counted_as_zero() -> None:
    rounds = [{"ours": run({"v1-row@16": cell(900, 100)}), "ceiling": {}}]
    summary = report.summarize(rounds)
    assert "ours/ceiling" not in summary["ratios"]
    assert "req/s v1-row@16" in report.markdown(
        {
            "summary": summary,
            "goals": report.goals(summary),
            "meta": {
                "finished": "t",
                "mode": "full",
                "rounds": 1,
                "warmup_s": 1,
                "duration_s": 1,
                "server_core": 1,
                "wrk_core": 0,
                "noise_note": "",
                "versions": {},
            },
        }
    )
