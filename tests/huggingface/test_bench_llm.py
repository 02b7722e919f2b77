"""The LLM bench cell's harness (bench/llm_cell.py) on a smoke plan: both sides run, every
stream gets its tokens, the summary and report come out. Figures are `make bench-llm`'s job."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from bench import llm_cell


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_cell_measures_both_sides_on_a_smoke_plan(tmp_path: Path) -> None:
    plan = {"tokens": 6, "streams": [1, 2], "rounds": 1, "pairs": 1, "port": free_port()}
    result = llm_cell.measure(plan, python=sys.executable, work=tmp_path)
    for streams in ("1", "2"):
        row = result["cells"][streams]
        for side in ("ours", "ceiling"):
            assert row[side]["tokens_per_s"] > 0
            assert 0 < row[side]["ttft_s"] < 30
        # the same greedy answer on both sides: the same number of tokens
        assert row["ours"]["tokens_per_stream"] == row["ceiling"]["tokens_per_stream"] > 0
    assert result["start_to_ready_s"]["ours"] > 0
    report = llm_cell.markdown({**result, "when": "now", "commit": "x", "load_before": 0.0})
    assert "| 2 |" in report and "Start to ready" in report
