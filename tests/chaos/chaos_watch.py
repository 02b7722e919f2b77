"""Polls on the load's clock while a fault happens (or a soak runs): when a pod left and
rejoined a Service's endpoints, what an InferenceService's Ready condition said meanwhile, and
a container's resident memory and CPU time with the node's load."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import chaos_node
from e2e_kube import Cli


def api_client(cli: Cli) -> Any:
    import kubernetes.config

    return kubernetes.config.new_client_from_config(config_file=str(cli.kubeconfig))


class Poller:
    """Calls `poll()` every `every` seconds on a thread of its own from `start()` to `stop()`;
    a poll that raises (the apiserver did not answer: the fault may be its own) is skipped."""

    def __init__(self, *, every: float, name: str) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def poll(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.poll()
            except Exception:  # the next poll tells
                continue


class EndpointWatch(Poller):
    """When a pod IP left and rejoined a Service's ready endpoints, on the load's clock: polls
    the Service's EndpointSlices (what kube-proxy routes by) every `every` seconds."""

    def __init__(
        self, cli: Cli, *, namespace: str, service: str, ip: str, clock: Callable[[], float],
        every: float = 0.05,
    ) -> None:  # fmt: skip
        import kubernetes.client

        super().__init__(every=every, name="endpoint-watch")
        self.discovery = kubernetes.client.DiscoveryV1Api(api_client(cli))
        self.namespace, self.service, self.ip, self.clock = namespace, service, ip, clock
        self.left: float | None = None
        self.rejoined: float | None = None

    def ready(self) -> bool:
        slices = self.discovery.list_namespaced_endpoint_slice(
            self.namespace, label_selector=f"kubernetes.io/service-name={self.service}"
        )
        return any(
            self.ip in (endpoint.addresses or [])
            and (endpoint.conditions is None or endpoint.conditions.ready is not False)
            for one in slices.items
            for endpoint in one.endpoints or []
        )

    def poll(self) -> None:
        ready = self.ready()
        now = self.clock()
        if not ready and self.left is None:
            self.left = now
        elif ready and self.left is not None and self.rejoined is None:
            self.rejoined = now

    def __enter__(self) -> EndpointWatch:
        assert self.ready(), f"{self.ip} is not a ready endpoint of {self.service} to begin with"
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Said:
    """What the Ready condition said, from `at` (load clock) on."""

    at: float
    status: str
    reason: str
    message: str


class ReadyLog(Poller):
    """Every change of an InferenceService's Ready condition (status, reason, message), on the
    load's clock: polls every `every` seconds while in the `with` block. A poll the apiserver
    did not answer (the fault may be its own) is skipped."""

    def __init__(
        self, cli: Cli, *, namespace: str, name: str, clock: Callable[[], float],
        every: float = 0.5,
    ) -> None:  # fmt: skip
        import kubernetes.client

        super().__init__(every=every, name="ready-log")
        self.api = kubernetes.client.CustomObjectsApi(api_client(cli))
        self.namespace, self.name, self.clock = namespace, name, clock
        self.said: list[Said] = []

    def poll(self) -> None:
        obj = self.api.get_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", self.namespace, "inferenceservices", self.name,
            _request_timeout=5,
        )  # fmt: skip
        conds = (obj.get("status") or {}).get("conditions") or []
        ready = next((c for c in conds if c.get("type") == "Ready"), {})
        now = Said(
            self.clock(),
            str(ready.get("status", "")),
            str(ready.get("reason", "")),
            str(ready.get("message", "")),
        )
        last = self.said[-1] if self.said else None
        if last is None or (last.status, last.reason, last.message) != (
            now.status, now.reason, now.message,
        ):  # fmt: skip
            self.said.append(now)

    def not_ready(self) -> list[Said]:
        return [s for s in self.said if s.status != "True"]

    def __enter__(self) -> ReadyLog:
        self.poll()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Usage:
    at: float  # load clock
    rss: int  # bytes, the container's processes together
    cpu: float  # seconds of CPU they have used so far
    load: float  # the node's 1-minute load average


class UsageLog(Poller):
    """A container's resident memory and CPU time (chaos_node), and the node's load average,
    sampled every `every` seconds on the load's clock while in the `with` block."""

    def __init__(self, cid: str, *, clock: Callable[[], float], every: float = 5.0) -> None:
        super().__init__(every=every, name="usage-log")
        self.cid, self.clock = cid, clock
        self.samples: list[Usage] = []

    def poll(self) -> None:
        self.samples.append(
            Usage(
                self.clock(),
                chaos_node.rss_bytes(self.cid),
                chaos_node.cpu_seconds(self.cid),
                chaos_node.load_average(),
            )
        )

    def at(self, moment: float) -> Usage:
        """The first sample at or after `moment` (the last one if none is)."""
        return next((u for u in self.samples if u.at >= moment), self.samples[-1])

    def __enter__(self) -> UsageLog:
        self.poll()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.poll()
