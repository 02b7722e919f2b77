"""The fault suite's results file (tests/chaos/chaos_results.py): one table, a row a scenario."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "chaos"))

import chaos_results
from chaos_load import OK, Outcome, Recorder, Summary


def summary_with(kinds: list[str]) -> Summary:
    recorder = Recorder(clock=lambda: 0.0)
    for i, kind in enumerate(kinds):
        recorder.add(Outcome(start=i / 10, latency=0.002 if i < 5 else 0.004, kind=kind))
    recorder.mark("fault", at=0.45)
    return recorder.summary(fault="fault")


def test_rows_append_under_one_header(tmp_path: Path) -> None:
    when = datetime.datetime(2026, 12, 7, 18, 0, 0, tzinfo=datetime.UTC)
    results = chaos_results.ResultsFile.new(tmp_path, now=when)
    assert results.path.name == "chaos-20261207T180000Z.md"
    clean = summary_with([OK] * 10)
    broken = summary_with([OK] * 5 + ["refused", "refused", "timeout", OK, OK])
    results.add("1. rolling update", clean, notes="2 rollouts")
    results.add("2. pod SIGKILLed", broken, notes="a | b")
    results.add("3. controller killed", None, notes="200 isvcs converged")
    lines = results.path.read_text().splitlines()
    assert lines[0].startswith("# Chaos suite, 20261207T180000Z (commit ")
    assert lines[2] == "| scenario | failed / total | added p50 / p99 | recovery | notes |"
    assert lines[4] == "| 1. rolling update | 0 / 10 | +2.0 ms / +2.0 ms | 0.0 s | 2 rollouts |"
    assert lines[5].startswith("| 2. pod SIGKILLed | 3 / 10 (2 refused, 1 timeout) | ")
    assert lines[5].endswith("| 0.4 s | a / b |")  # 0.45 -> the OK at 0.8 ends at 0.804
    assert lines[6] == "| 3. controller killed | n/a | n/a | n/a | 200 isvcs converged |"
    assert len(lines) == 7


def test_a_partial_run_says_which_scenarios_it_ran(tmp_path: Path) -> None:
    when = datetime.datetime(2026, 12, 8, 1, 0, 0, tzinfo=datetime.UTC)
    results = chaos_results.ResultsFile.new(tmp_path, now=when, only="scenarios 5 8")
    results.add("5. node restarted", None)
    title = results.path.read_text().splitlines()[0]
    assert title.startswith("# Chaos suite, 20261208T010000Z (commit ")
    assert title.endswith("; only scenarios 5 8)")
