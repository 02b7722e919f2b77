"""Progress lines: bytes, percent and rate, no more often than the interval."""

from __future__ import annotations

import logging

import pytest

from kserve_server.storage.progress import Progress, human


def test_lines_every_interval_with_percent_and_rate(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    progress = Progress("gs://b/m", interval=5.0, clock=lambda: now[0])
    progress.expect(100 << 20)
    with caplog.at_level(logging.INFO):
        now[0] = 1.0
        progress.add(10 << 20)  # within the interval: silent
        now[0] = 5.0
        progress.add(40 << 20)
        now[0] = 10.0
        progress.add(50 << 20)
        progress.finish()
    assert caplog.messages == [
        "progress gs://b/m: 50.0 MiB of 100.0 MiB (50%) at 10.0 MiB/s",
        "progress gs://b/m: 100.0 MiB of 100.0 MiB (100%) at 10.0 MiB/s",
        "downloaded gs://b/m: 100.0 MiB in 10.0s (10.0 MiB/s)",
    ]


def test_unknown_size_has_no_percent(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    progress = Progress("https://h/m", interval=1.0, clock=lambda: now[0])
    progress.expect(None)
    with caplog.at_level(logging.INFO):
        now[0] = 2.0
        progress.add(2048)
    assert caplog.messages == ["progress https://h/m: 2.0 KiB at 1.0 KiB/s"]


def test_human() -> None:
    assert [human(n) for n in (5, 2048, 3 << 30)] == ["5 B", "2.0 KiB", "3.0 GiB"]
