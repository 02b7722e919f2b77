"""Requests held and in flight per component, and the figure KEDA scales on (pure)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Key = tuple[str, str]  # (namespace, Service)


@dataclass
class Counts:
    held: int = 0  # waiting for the component to accept a connection
    in_flight: int = 0  # forwarded, answer not yet finished
    # second → the most requests held + in flight during it (the last `window` seconds)
    peaks: dict[int, int] = field(default_factory=dict)

    @property
    def now(self) -> int:
        return self.held + self.in_flight


class Load:
    """`concurrency(key)`: the most requests held + in flight at once over the last `window`
    seconds (at least what is there now). A request shorter than KEDA's polling interval still
    counts, so a component with steady short requests is not taken for idle."""

    def __init__(self, *, window: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self._clock = clock
        self._counts: dict[Key, Counts] = {}

    def counts(self, key: Key) -> Counts:
        return self._counts.get(key) or Counts()

    def concurrency(self, key: Key) -> int:
        counts = self._counts.get(key)
        if counts is None:
            return 0
        oldest = math.floor(self._clock() - self.window)
        for second in [s for s in counts.peaks if s < oldest]:
            del counts.peaks[second]
        if not counts.peaks and counts.now == 0:
            del self._counts[key]
            return 0
        return max([counts.now, *counts.peaks.values()])

    def hold(self, key: Key) -> None:
        self._change(key, held=1)

    def release(self, key: Key) -> None:
        self._change(key, held=-1)

    def start(self, key: Key) -> None:
        self._change(key, in_flight=1)

    def finish(self, key: Key) -> None:
        self._change(key, in_flight=-1)

    def _change(self, key: Key, *, held: int = 0, in_flight: int = 0) -> None:
        counts = self._counts.setdefault(key, Counts())
        counts.held += held
        counts.in_flight += in_flight
        second = math.floor(self._clock())
        counts.peaks[second] = max(counts.peaks.get(second, 0), counts.now)
