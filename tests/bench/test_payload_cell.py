"""The payload cell's report line, without running servers."""

from __future__ import annotations

from bench import payload_cell


def test_markdown_quotes_each_row_and_the_goals() -> None:
    row = {"rps": 1000.0, "p50_ms": 50.0, "p99_ms": 90.0, "errors": 0}
    cell = {
        "connections": 64,
        "batcher_flags": payload_cell.BATCHER,
        "rounds": [{"iris": row, "forest-batched": {**row, "rps": 2500.0}}],
        "ratios": {
            "iris_batched_vs_plain": 1.2,
            "iris_logged_vs_plain": 0.93,
            "forest_batched_vs_plain": 2.5,
        },
        "goals": payload_cell.GOALS,
        "met": {"logger_overhead": True, "forest_batched": True},
    }
    text = payload_cell.markdown(cell)
    assert "| forest-batched | 2500 | 50.0 | 90.0 | 0 |" in text
    assert "logger on / off: 0.93 x (goal ≥ 0.90, met: True)" in text
    assert "forest batched / plain: 2.50 x (goal ≥ 2.0, met: True)" in text
