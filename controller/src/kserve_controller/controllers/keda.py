"""Does the cluster serve KEDA's ScaledObject? Read the cheapest way, as for the Gateway API: a
synced watch of ScaledObjects says yes; otherwise discovery, remembered for `TTL`, so a cluster
without KEDA costs one request per `TTL`, not one per pass.
"""

from __future__ import annotations

import time

from kserve_controller.build import scaledobject
from kserve_controller.engine import Context

TTL = 10.0  # seconds a discovery answer is kept


class Keda:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._answer: tuple[float, bool] | None = None  # (when, served)

    async def installed(self) -> bool:
        if self.ctx.reads.synced(scaledobject.KIND):
            return True
        now = time.monotonic()
        if self._answer is not None and now - self._answer[0] < TTL:
            return self._answer[1]
        served = await self.ctx.kube.serves(scaledobject.API_VERSION, scaledobject.PLURAL)
        self._answer = (now, served)
        return served
