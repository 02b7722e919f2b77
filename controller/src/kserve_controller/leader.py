"""Lease-based leader election: one active controller, standbys take over within a lease.

Expiry is judged by our own clock since we last saw the lease change (as client-go does),
so clock skew between machines does not matter. A leader that cannot renew within the
renew deadline stops leading; on shutdown it releases the lease so a standby starts at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kserve_controller.kube import errors
from kserve_controller.kube.client import Kube

Obj = dict[str, Any]
log = logging.getLogger(__name__)


class LeaseLost(Exception):  # noqa: N818 (what happened, not an error type)
    """Could not renew the lease within the renew deadline."""


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(kw_only=True)
class LeaderElector:
    kube: Kube
    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    clock: Callable[[], float] = time.monotonic
    is_leader: bool = field(default=False, init=False)
    _observed: Obj | None = field(default=None, init=False)
    _observed_at: float = field(default=0.0, init=False)

    async def acquire(self) -> None:
        """Return once we hold the lease."""
        announced = False
        while not await self._try():
            if not announced:
                holder = (self._observed or {}).get("holderIdentity")
                log.info("Waiting for the leader lease %s (held by %s)", self.name, holder)
                announced = True
            await asyncio.sleep(self.retry_period)
        log.info("Became the leader (lease %s/%s)", self.namespace, self.name)

    async def hold(self) -> None:
        """Renew until the lease is lost (raises LeaseLost) or cancelled."""
        last = self.clock()
        while True:
            await asyncio.sleep(self.retry_period)
            if await self._try():
                last = self.clock()
            elif self.clock() - last > self.renew_deadline:
                self.is_leader = False
                raise LeaseLost(f"could not renew lease {self.name} for {self.renew_deadline}s")

    async def release(self) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        try:
            lease = await self.kube.get("Lease", self.namespace, self.name)
            if lease and lease.get("spec", {}).get("holderIdentity") == self.identity:
                lease["spec"]["holderIdentity"] = ""
                lease["spec"]["renewTime"] = _micro_time()
                lease["spec"]["leaseDurationSeconds"] = 1
                await self.kube.replace(lease)
                log.info("Released the leader lease %s", self.name)
        except errors.KubeError as err:
            log.warning("could not release lease %s: %s", self.name, err)

    async def _try(self) -> bool:
        try:
            ok = await self._try_once()
        except errors.KubeError as err:
            log.warning("leader election: %s", err)
            ok = False
        self.is_leader = ok
        return ok

    async def _try_once(self) -> bool:
        now = _micro_time()
        lease = await self.kube.get("Lease", self.namespace, self.name)
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(acquired=now, transitions=0),
            }
            try:
                await self.kube.create(body)
            except errors.Conflict:
                return False
            return True
        spec = lease.get("spec") or {}
        if spec != self._observed:
            self._observed, self._observed_at = spec, self.clock()
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        expired = self.clock() - self._observed_at > duration
        if holder and holder != self.identity and not expired:
            return False
        if holder == self.identity:
            lease["spec"] = {**spec, "renewTime": now}
        else:
            transitions = int(spec.get("leaseTransitions") or 0) + 1
            lease["spec"] = self._spec(acquired=now, transitions=transitions)
        try:
            updated = await self.kube.replace(lease)  # resourceVersion guards the race
        except errors.Conflict:
            return False
        self._observed, self._observed_at = updated.get("spec"), self.clock()
        return True

    def _spec(self, *, acquired: str, transitions: int) -> Obj:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "acquireTime": acquired,
            "renewTime": acquired,
            "leaseTransitions": transitions,
        }
