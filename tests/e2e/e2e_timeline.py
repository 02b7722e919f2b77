"""How long each e2e step took: printed at the end of the run and, with E2E_TIMINGS=FILE, saved
as JSON so `make e2e` can print it in its own time line."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Timeline:
    steps: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        yield
        self.add(name, time.monotonic() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.steps.append((name, seconds))
        print(f"[e2e timeline] {name}: {seconds:.1f}s", flush=True)

    def lines(self) -> list[str]:
        return [f"{seconds:7.1f}s  {name}" for name, seconds in self.steps]

    def save(self) -> None:
        target = os.environ.get("E2E_TIMINGS")
        if target:
            Path(target).write_text(json.dumps(dict(self.steps), indent=2) + "\n")


TIMELINE = Timeline()
