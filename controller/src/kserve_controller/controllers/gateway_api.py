"""What a pass needs to know of the cluster's Gateway API: are its CRDs served, and does the
Gateway the routes attach to exist. Both read the cheapest way: a synced watch of HTTPRoutes
says the CRD is there; otherwise discovery, remembered for a while, so a cluster without the
Gateway API costs one request per `TTL`, not one per pass.
"""

from __future__ import annotations

import time
from typing import Any

from kserve_controller.build import httproute
from kserve_controller.engine import Context
from kserve_controller.kube import errors as kube_errors

Obj = dict[str, Any]

TTL = 10.0  # seconds a discovery answer is kept
KINDS = (("httproutes", httproute.CRD), ("gateways", httproute.GATEWAY_CRD))


class GatewayApi:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._missing: tuple[float, list[str]] | None = None  # (when, CRD names)

    async def missing_crds(self) -> list[str]:
        """The Gateway API CRDs this controller needs that the apiserver does not serve."""
        if self.ctx.reads.synced(httproute.KIND):
            return []
        now = time.monotonic()
        if self._missing is not None and now - self._missing[0] < TTL:
            return self._missing[1]
        serves = self.ctx.kube.serves
        missing = [crd for plural, crd in KINDS if not await serves(httproute.API_VERSION, plural)]
        self._missing = (now, missing)
        return missing

    async def gateway_found(self, namespace: str, name: str) -> bool | None:
        """Does the Gateway exist? None when RBAC does not let us look."""
        try:
            return await self.ctx.reads.get("Gateway", namespace, name) is not None
        except kube_errors.Forbidden:
            return None
