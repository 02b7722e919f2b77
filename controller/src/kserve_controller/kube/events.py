"""Kubernetes Events on the InferenceService (Created, Updated, Failed, Ready ...).

The same event for the same object is not repeated within `quiet` seconds: events are for
humans (`kubectl describe`), and a retry loop should not flood them.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from kserve_controller.kube import errors
from kserve_controller.kube.client import Kube

Obj = dict[str, Any]

log = logging.getLogger(__name__)

COMPONENT = "kserve-controller"


class Recorder:
    def __init__(self, kube: Kube, *, quiet: float = 300.0) -> None:
        self.kube = kube
        self.quiet = quiet
        self._recent: dict[tuple[str, str, str], float] = {}

    async def event(self, obj: Obj, *, kind: str, reason: str, message: str) -> bool:
        """Record `reason: message` (kind Normal or Warning) on `obj`; never raises.

        False when the same event was recorded less than `quiet` seconds ago (or failed).
        """
        meta = obj["metadata"]
        key = (str(meta.get("uid")), reason, message)
        now = time.monotonic()
        if now - self._recent.get(key, -self.quiet) < self.quiet:
            return False
        self._recent[key] = now
        if len(self._recent) > 10_000:
            self._recent = {k: t for k, t in self._recent.items() if now - t < self.quiet}
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": meta["namespace"],
            },
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": kind,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            await self.kube.create(body)
        except errors.KubeError as err:
            log.warning("could not record event %s on %s: %s", reason, meta["name"], err)
            return False
        return True
