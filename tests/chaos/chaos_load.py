"""Steady load against one URL (or a few in turn) during a fault, and a record of each request.

`steady(url, body=..., rate=...)` runs paced workers (a fixed number of requests a second,
whatever the answers take: a fast failure does not turn into a flood of them) in a thread with
its own event loop, until the `with` block ends; `mixed([Target, ...], rate=...)` sends each
target in turn (V1 and V2 requests, say), each outcome named by its target. Half the workers
keep their connection alive between requests (as a gateway or an SDK session does), half open
one per request (as curl does): a rollout can break either. Nothing is retried; every failure
is counted by kind.

The client runs on the node of the local one-node cluster (this host), where kube-proxy sends
a connection to a Service's ClusterIP exactly as it does a pod's: the same rules pick the
endpoint, so what a rollout or a dead pod does to a pod's requests happens to these.

`Recorder.summary(fault=...)` reads the record: failures by kind, latency percentiles before
and after the fault, per-second windows, and the time from the fault until requests succeed
again.
"""

from __future__ import annotations

import asyncio
import errno
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp

OK = "ok"
REQUEST_TIMEOUT = 5.0  # seconds: an answer later than this is a failure ("timeout")
# (status, body) -> None when the answer is right, else what is wrong with it
Check = Callable[[int, bytes], str | None]


@dataclass(frozen=True)
class Outcome:
    start: float  # seconds since the load began
    latency: float  # seconds
    kind: str  # OK, or the failure: refused, reset, disconnected, timeout, http-503, wrong, ...
    keepalive: bool = False
    target: str = ""  # the Target's name

    @property
    def failed(self) -> bool:
        return self.kind != OK


@dataclass
class Summary:
    total: int
    failed: int
    by_kind: dict[str, int]
    p50_before: float | None  # seconds, answers before the fault
    p99_before: float | None
    p50_after: float | None  # answers from the fault on
    p99_after: float | None
    recovery: float | None  # seconds from the fault until requests succeed again; None: never
    windows: list[Window] = field(default_factory=list)

    @property
    def added_p50(self) -> float | None:
        return _added(self.p50_after, self.p50_before)

    @property
    def added_p99(self) -> float | None:
        return _added(self.p99_after, self.p99_before)

    def failures(self) -> str:
        """`3 refused, 1 timeout` (or `none`)."""
        kinds = sorted(self.by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{n} {kind}" for kind, n in kinds) or "none"


@dataclass(frozen=True)
class Window:
    """One second of the run: requests started in it, how many failed, their latencies."""

    second: int
    total: int
    failed: int
    p50: float | None
    p99: float | None


def _added(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


class Recorder:
    """Every request's outcome, and named moments (`mark`), on one clock."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.t0 = clock()
        self.outcomes: list[Outcome] = []
        self.marks: dict[str, float] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.clock() - self.t0

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    def mark(self, name: str, at: float | None = None) -> float:
        """Remember a moment (now, or `at`) by name; returns it."""
        self.marks[name] = self.now() if at is None else at
        return self.marks[name]

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def summary(
        self, *, fault: str | None = None, since: float = 0.0, until: float | None = None
    ) -> Summary:
        """The record of requests started from `since` (until `until`); `fault` names the mark
        that splits before from after."""
        outcomes = sorted(
            (o for o in self.snapshot() if o.start >= since and (until is None or o.start < until)),
            key=lambda o: o.start,
        )
        at = self.marks[fault] if fault is not None else None
        before = [o.latency for o in outcomes if o.kind == OK and (at is None or o.start < at)]
        after = [o.latency for o in outcomes if o.kind == OK and at is not None and o.start >= at]
        kinds = Counter(o.kind for o in outcomes if o.failed)
        return Summary(
            total=len(outcomes),
            failed=sum(kinds.values()),
            by_kind=dict(kinds),
            p50_before=percentile(before, 50),
            p99_before=percentile(before, 99),
            p50_after=percentile(after, 50),
            p99_after=percentile(after, 99),
            recovery=recovery(outcomes, at) if at is not None else None,
            windows=windows(outcomes),
        )


def recovery(outcomes: list[Outcome], at: float) -> float | None:
    """Seconds from `at` to the first success after the last failure that started at or after
    `at` (0 when nothing failed; None when nothing succeeded after it)."""
    after = [o for o in outcomes if o.start >= at]
    last_failure = max((o.start for o in after if o.failed), default=None)
    if last_failure is None:
        return 0.0
    back = min((o.start + o.latency for o in after if not o.failed and o.start > last_failure),
               default=None)  # fmt: skip
    return None if back is None else back - at


def windows(outcomes: list[Outcome]) -> list[Window]:
    by_second: dict[int, list[Outcome]] = {}
    for one in outcomes:
        by_second.setdefault(int(one.start), []).append(one)
    out = []
    for second in sorted(by_second):
        group = by_second[second]
        ok = [o.latency for o in group if not o.failed]
        failed = sum(o.failed for o in group)
        out.append(Window(second, len(group), failed, percentile(ok, 50), percentile(ok, 99)))
    return out


def classify(err: BaseException) -> str:
    """A failed request's kind, from what the client saw."""
    if isinstance(err, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "disconnected"  # the server closed the connection before answering
    if isinstance(err, aiohttp.ClientConnectorError):
        if err.os_error.errno == errno.ECONNREFUSED:
            return "refused"
        return f"connect-{errno.errorcode.get(err.os_error.errno or 0, 'error')}"
    if isinstance(err, aiohttp.ClientOSError):
        if err.errno in (errno.ECONNRESET, errno.EPIPE):
            return "reset"
        return f"os-{errno.errorcode.get(err.errno or 0, 'error')}"
    if isinstance(err, aiohttp.ClientPayloadError):
        return "truncated"
    return type(err).__name__


@dataclass(frozen=True)
class Target:
    """One request the load sends: where, what, and how its answer is checked."""

    url: str
    body: bytes
    check: Check | None = None
    name: str = ""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass
class SteadyLoad:
    targets: list[Target]
    rate: float  # requests a second, all workers together
    workers: int = 8
    recorder: Recorder = field(default_factory=Recorder)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-load", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=REQUEST_TIMEOUT + 10)
        if self._error is not None:
            raise RuntimeError("the load client itself failed") from self._error

    def mark(self, name: str, at: float | None = None) -> float:
        return self.recorder.mark(name, at)

    def summary(
        self, *, fault: str | None = None, since: float = 0.0, until: float | None = None
    ) -> Summary:
        return self.recorder.summary(fault=fault, since=since, until=until)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # reported by stop(), in the test's thread
            self._error = err

    async def _main(self) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        period = self.workers / self.rate
        # one session per worker: a keep-alive worker has its own connection, as a client would
        tasks = []
        sessions = []
        for i in range(self.workers):
            keepalive = i % 2 == 0
            connector = aiohttp.TCPConnector(limit=1, force_close=not keepalive)
            session = aiohttp.ClientSession(connector=connector, timeout=timeout)
            sessions.append(session)
            offset = i * period / self.workers  # spread the workers over one period
            worker = self._worker(session, keepalive, period, offset, first=i)
            tasks.append(asyncio.create_task(worker))
        try:
            await asyncio.gather(*tasks)
        finally:
            for session in sessions:
                await session.close()

    async def _worker(
        self,
        session: aiohttp.ClientSession,
        keepalive: bool,
        period: float,
        offset: float,
        *,
        first: int,
    ) -> None:
        next_at = self.recorder.now() + offset
        turn = first  # workers start on different targets, then each takes them in turn
        while not self._stop.is_set():
            delay = next_at - self.recorder.now()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at = max(next_at + period, self.recorder.now() - period)  # no catch-up burst
            target = self.targets[turn % len(self.targets)]
            turn += 1
            start = self.recorder.now()
            kind = await self._one(session, target)
            latency = self.recorder.now() - start
            self.recorder.add(Outcome(start, latency, kind, keepalive, target.name))

    async def _one(self, session: aiohttp.ClientSession, target: Target) -> str:
        try:
            async with session.post(target.url, data=target.body, headers=target.headers) as resp:
                body = await resp.read()
                status = resp.status
        except Exception as err:  # every failure is counted by kind, none retried
            return classify(err)
        if status != 200:
            return f"http-{status}"
        if target.check is not None and target.check(status, body) is not None:
            return "wrong-answer"
        return OK


@contextmanager
def steady(
    url: str, *, body: bytes, rate: float, workers: int = 8, check: Check | None = None
) -> Iterator[SteadyLoad]:
    """Load running for the duration of the block; the record stays on the yielded object."""
    with mixed([Target(url, body, check)], rate=rate, workers=workers) as load:
        yield load


@contextmanager
def mixed(targets: list[Target], *, rate: float, workers: int = 8) -> Iterator[SteadyLoad]:
    """`steady` over several targets, sent in turn."""
    load = SteadyLoad(targets=targets, rate=rate, workers=workers)
    load.start()
    try:
        yield load
    finally:
        load.stop()
