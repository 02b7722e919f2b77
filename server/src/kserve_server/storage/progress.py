"""Progress lines (bytes, %, rate) every few seconds, safe to feed from worker threads."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Progress:
    """Counts bytes for one URI and logs a line at most every `interval` seconds."""

    def __init__(
        self,
        what: str,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.total = 0
        self._unknown = False
        self.done = 0
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._last = self._start
        self._lock = threading.Lock()

    def expect(self, total: int | None) -> None:
        """Add to the expected total; None means unknown (no Content-Length)."""
        with self._lock:
            if total is None:
                self._unknown = True
            else:
                self.total += total

    def add(self, count: int) -> None:
        """Count `count` bytes (negative after a retry throws away a partial file)."""
        with self._lock:
            self.done += count
            now = self._clock()
            if now - self._last < self._interval:
                return
            self._last = now
            line = self._line(now)
        log.info("%s", line)

    def finish(self) -> float:
        """Log the closing line; return the elapsed seconds."""
        elapsed = self._clock() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        log.info(
            "downloaded %s: %s in %.1fs (%s/s)", self.what, human(self.done), elapsed, human(rate)
        )
        return elapsed

    def _line(self, now: float) -> str:
        elapsed = now - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total and not self._unknown:
            pct = 100.0 * self.done / self.total
            return (
                f"progress {self.what}: {human(self.done)} of {human(self.total)} "
                f"({pct:.0f}%) at {human(rate)}/s"
            )
        return f"progress {self.what}: {human(self.done)} at {human(rate)}/s"
