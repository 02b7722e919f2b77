"""How a serving pod stops without failing a request (pure).

When a pod is deleted (a rollout, a scale-down), the kubelet signals its containers while the
Service's endpoints are still being updated: kube-proxy keeps sending new connections to the
pod for a moment. So every container first pauses (`preStop: sleep`, no binary needed in the
image) while it keeps serving, then gets SIGTERM and drains what is in flight (the model
server stops listening, finishes its requests, exits). The grace period covers both.
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

# Long enough for the endpoint controller and kube-proxy (sync period 1 s) to take the pod out.
PRESTOP_SECONDS = 5
# The model server's SIGTERM drain bound (its --grace_period, 30 s by default).
DRAIN_SECONDS = 30
GRACE_SECONDS = PRESTOP_SECONDS + DRAIN_SECONDS


def graceful(pod: Obj) -> Obj:
    """`pod` with a preStop pause on each container that has no preStop hook, and a grace
    period covering the pause and the drain unless the pod sets its own. With a shorter grace
    period of the user's, the pause shortens to fit in it (the API refuses a longer one)."""
    out = copy.deepcopy(pod)
    grace = out.setdefault("terminationGracePeriodSeconds", GRACE_SECONDS)
    pause = min(PRESTOP_SECONDS, int(grace))
    if pause < 1:  # the user asked for an immediate kill: no pause
        return out
    for container in out.get("containers") or []:
        lifecycle = container.setdefault("lifecycle", {})
        lifecycle.setdefault("preStop", {"sleep": {"seconds": pause}})
    return out
