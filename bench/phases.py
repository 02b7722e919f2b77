"""Where a predictor pod's start goes: from a starting instant (a `kubectl apply`, a first request
to a model scaled to zero) to its first answer, cut into phases.

Shared by the apply → first answer benchmark (tests/e2e/bench_first_answer.py) and the autoscaling
cold-start benchmark. Pure: the caller watches the cluster and feeds what it sees here; nothing
here talks to a cluster. One clock throughout: the observer's `time.time()`, and the kubelet's
and apiserver's RFC 3339 stamps (same clock on one machine). A pod's stamps are whole seconds:
a watch event's arrival marks what it shows when the stamp is within the second before it (the
watch saw it happen), the middle of the stamp's second when older (it happened between two
events, as when the kubelet reports a short init container only once it has exited).

A mark is the instant something first held; a phase ends at its mark and starts at the previous
mark that was seen, so a pod without a storage initializer simply has no such phase.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from statistics import quantiles
from typing import Any

# (mark, the phase that ends at it), in the order they happen
PHASES: tuple[tuple[str, str], ...] = (
    ("pod_created", "controller"),  # start → the pod exists: controller, Deployment, ReplicaSet
    ("scheduled", "scheduling"),  # → PodScheduled
    ("initializer_started", "sandbox"),  # → the storage initializer runs: sandbox, image, create
    ("initializer_done", "storage_initializer"),  # → it exited 0: the model is on disk
    ("server_started", "container_start"),  # → the model server's container runs
    ("model_ready", "server_start"),  # → the server logged its model ready: imports, load
    ("pod_ready", "readiness"),  # → the kubelet's probe passed: pod condition Ready
    ("endpoint_ready", "endpoints"),  # → the pod is a ready endpoint of the Service
    ("answered", "answer"),  # → the first 200 through the caller's path (gateway, activator)
)
MARKS = tuple(mark for mark, _ in PHASES)
INITIALIZER = "storage-initializer"
SERVER = "kserve-container"


@dataclass
class Timeline:
    """The marks of one start, seconds since the epoch; `start` is the instant measured from."""

    start: float
    marks: dict[str, float] = field(default_factory=dict)
    pod: str = ""
    pod_ip: str = ""

    def mark(self, name: str, at: float) -> None:
        """The first instant `name` held; later sightings keep the first."""
        if name not in MARKS:
            raise ValueError(f"unknown mark {name!r}")
        self.marks.setdefault(name, at)

    def phases(self) -> dict[str, float]:
        """Seconds per phase seen, in order; 'total' from start to the last mark seen."""
        out: dict[str, float] = {}
        previous = self.start
        for mark, phase in PHASES:
            if mark in self.marks:
                at = max(self.marks[mark], previous)  # a coarse stamp never runs backwards
                out[phase] = at - previous
                previous = at
        out["total"] = previous - self.start
        return out


def parse_time(stamp: str) -> float:
    """RFC 3339 (the apiserver's whole seconds, or the kubelet log's nanoseconds) → epoch s."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {stamp!r}")
    whole, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    seconds = datetime.datetime.fromisoformat(whole + zone).timestamp()
    return seconds + (float("0." + fraction) if fraction else 0.0)


def observe_pod(timeline: Timeline, pod: dict[str, Any], at: float) -> None:
    """A pod as a watch event delivered it at `at`: marks whatever it shows for the first time
    (at `at`, or at the middle of its own whole-second stamp when that is over a second older)."""
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    timeline.pod = timeline.pod or meta.get("name", "")
    timeline.pod_ip = status.get("podIP") or timeline.pod_ip

    def stamped(name: str, stamp: str | None) -> None:
        if name not in timeline.marks:
            seen = parse_time(stamp) if stamp else at
            # a whole-second stamp s stands for [s, s + 1): its middle, unless the event is newer
            timeline.mark(name, at if seen > at - 1.0 else seen + 0.5)

    stamped("pod_created", meta.get("creationTimestamp"))
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    for kind, name in (("PodScheduled", "scheduled"), ("Ready", "pod_ready")):
        condition = conditions.get(kind)
        if condition is not None and condition.get("status") == "True":
            stamped(name, condition.get("lastTransitionTime"))
    for container in status.get("initContainerStatuses") or []:
        if container.get("name") != INITIALIZER:
            continue
        state = container.get("state") or {}
        begun = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        if begun:
            stamped("initializer_started", begun)
        done = state.get("terminated") or {}
        if done.get("exitCode") == 0:
            stamped("initializer_done", done.get("finishedAt"))
    for container in status.get("containerStatuses") or []:
        running = (container.get("state") or {}).get("running")
        if container.get("name") == SERVER and running:
            stamped("server_started", running.get("startedAt"))


def observe_slice(timeline: Timeline, endpoint_slice: dict[str, Any], at: float) -> None:
    """An EndpointSlice of the predictor's Service as seen at `at`: marks the pod's address
    ready in it (by the pod's name in targetRef, or its IP)."""
    for endpoint in endpoint_slice.get("endpoints") or []:
        target = (endpoint.get("targetRef") or {}).get("name")
        addresses = endpoint.get("addresses") or []
        ours = target == timeline.pod if target else timeline.pod_ip in addresses
        if ours and (endpoint.get("conditions") or {}).get("ready"):
            timeline.mark("endpoint_ready", at)


MODEL_READY = re.compile(r"^(\S+) .*model (\S+): ready in ")


def model_ready_from_log(timeline: Timeline, log: str, *, model: str | None = None) -> None:
    """`kubectl logs --timestamps` of the model server: the kubelet's stamp of its line
    'model <name>: ready in ...' (nanoseconds, the server's own clock not involved)."""
    for line in log.splitlines():
        match = MODEL_READY.match(line)
        if match and (model is None or match.group(2) == model):
            timeline.mark("model_ready", parse_time(match.group(1)))
            return


def summarize(timelines: list[Timeline]) -> dict[str, dict[str, float]]:
    """p50 and p95 (and n) of each phase over the starts that saw it, 'total' last."""
    names = [phase for _, phase in PHASES] + ["total"]
    per: dict[str, list[float]] = {name: [] for name in names}
    for timeline in timelines:
        for name, seconds in timeline.phases().items():
            per[name].append(seconds)
    return {name: percentiles(values) for name, values in per.items() if values}


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 by linear interpolation between the samples (one sample: itself)."""
    if len(values) == 1:
        return {"n": 1, "p50": values[0], "p95": values[0]}
    cuts = quantiles(values, n=20, method="inclusive")
    return {"n": len(values), "p50": cuts[9], "p95": cuts[18]}


def markdown(summary: dict[str, dict[str, float]]) -> str:
    lines = ["| phase | n | p50 s | p95 s |", "| --- | ---: | ---: | ---: |"]
    for name, cell in summary.items():
        lines.append(f"| {name} | {cell['n']:.0f} | {cell['p50']:.2f} | {cell['p95']:.2f} |")
    return "\n".join(lines)
