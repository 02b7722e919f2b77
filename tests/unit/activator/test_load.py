"""The figure KEDA scales on: peak requests held + in flight over the window."""

from __future__ import annotations

from kserve_server.activator.load import Load

KEY = ("team-a", "sleepy-predictor")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_held_and_in_flight_count_now_and_for_the_window_after() -> None:
    clock = Clock()
    load = Load(window=10.0, clock=clock)
    assert load.concurrency(KEY) == 0
    for _ in range(3):
        load.hold(KEY)
    assert (load.counts(KEY).held, load.concurrency(KEY)) == (3, 3)
    for _ in range(3):
        load.release(KEY)
        load.start(KEY)
    assert (load.counts(KEY).held, load.counts(KEY).in_flight) == (0, 3)
    for _ in range(3):
        load.finish(KEY)
    clock.now += 5
    assert load.concurrency(KEY) == 3  # a burst shorter than KEDA's poll still shows
    clock.now += 6.5
    assert load.concurrency(KEY) == 0
    assert load.counts(KEY).held == 0


def test_components_are_counted_apart() -> None:
    load = Load()
    load.hold(KEY)
    assert load.concurrency(("team-a", "other")) == 0
    assert load.concurrency(KEY) == 1
