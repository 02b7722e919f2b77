"""The ONNX cell's bodies and its report line, without running servers."""

from __future__ import annotations

import json

from bench import onnx_cell


def test_bodies_are_v2_single_row_and_64_row_batch() -> None:
    bodies = {k: json.loads(v) for k, v in onnx_cell.bodies().items()}
    assert bodies["v2-row"]["inputs"][0]["shape"] == [1, 4]
    assert bodies["v2-batch"]["inputs"][0]["shape"] == [64, 4]
    assert len(bodies["v2-batch"]["inputs"][0]["data"]) == 256


def test_markdown_quotes_the_ratio_and_start_to_ready() -> None:
    cell = {
        "connections": 16,
        "goal": 0.8,
        "rounds": [{"v2-row": {"ours": 800.0, "ceiling": 1000.0}}],
        "ratio_to_ceiling": {"v2-row": 0.8},
        "start_to_ready_s": {"ours": 1.5, "ceiling": 1.0},
    }
    text = onnx_cell.markdown(cell)
    assert "| v2-row | 800 | 1000 | 0.80 |" in text
    assert "start → ready: ours 1.50 s, ceiling 1.00 s" in text
