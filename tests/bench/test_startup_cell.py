"""The start-up cell's summary and report, without running servers."""

from __future__ import annotations

import pytest

from bench import startup_cell


def pair(ours: float, ceiling: float) -> dict[str, dict[str, float]]:
    return {
        "ours": {"wall_s": ours, "cpu_s": ours - 0.1},
        "ceiling": {"wall_s": ceiling, "cpu_s": ceiling - 0.1},
    }


def test_difference_and_ratio_are_taken_pair_by_pair_then_the_median() -> None:
    summary = startup_cell.summarize([pair(1.5, 1.2), pair(2.0, 1.0), pair(1.4, 1.3)])
    assert summary["ours_minus_ceiling_s"] == pytest.approx(0.3)
    assert summary["ratio"] == pytest.approx(1.25)
    assert (summary["ours_wall_s"], summary["ceiling_wall_s"]) == (1.5, 1.2)


def test_markdown_has_a_row_per_framework_and_says_whether_the_goal_is_met() -> None:
    cell = {
        "runs": 1,
        "goal_s": 0.1,
        "frameworks": {"sklearn": startup_cell.summarize([pair(1.25, 1.2)])},
        "met": True,
    }
    text = startup_cell.markdown(cell)
    assert "| sklearn | 1.25 | 1.20 | +0.05 | 1.04 | 1.15 | 1.10 |" in text
    assert "goal met: yes" in text
