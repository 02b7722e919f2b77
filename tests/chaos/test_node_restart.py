"""Scenario 5 (`make chaos` only): the node's kubelet and containerd restarted under load.

Both are host processes of the local cluster (hack/devcluster/node.py); they are stopped as an
init system stops them (SIGTERM: the containers' shims, and so the model servers, keep
running), kept down for DOWN_SECONDS, longer than the control plane's node-monitor grace
period, and started again with the command line they ran with. Meanwhile the control plane
finds the node silent: the node goes NotReady, its pods are marked not ready and leave their
Services' endpoints, so requests fail though the servers still run. What the user must see is
the InferenceService not Ready with a reason that says why while that lasts (recorded by a
poll of its Ready condition), then the pods back, Ready again, and requests served.
"""

from __future__ import annotations

import time
from typing import Any

import chaos_node
from chaos_cluster import IRIS_BODY, IsvcFactory, iris_check
from chaos_load import steady
from chaos_results import ResultsFile
from chaos_watch import ReadyLog
from e2e_kube import Cli, condition, wait_for

SCENARIO = 5  # CHAOS_SCENARIOS selects by this number (conftest)
RATE = 30  # requests a second
WARM_UP = 5.0
# kube-controller-manager's --node-monitor-grace-period is 50 s (Kubernetes 1.32 on): down
# well past that, the control plane notices the node is gone and marks its pods not ready
DOWN_SECONDS = 75.0
BACK_WITHIN = 180.0
# kube-proxy applies an EndpointSlice change within its sync period (1 s by default): a
# connection started this long after the pods are Ready again may still find no endpoint
PROXY_SYNC = 2.0
SETTLE = 5.0


def node_ready(cli: Cli, name: str) -> bool:
    return condition(cli.json("get", "node", name), "Ready").get("status") == "True"


def pods_ready(pods: list[dict[str, Any]], want: int) -> bool:
    return len(pods) == want and all(condition(p, "Ready").get("status") == "True" for p in pods)


def test_kubelet_and_containerd_restarted_under_load(
    isvc_factory: IsvcFactory, results: ResultsFile
) -> None:
    isvc = isvc_factory("noderestart", replicas=2)
    cli = isvc.cli
    node = chaos_node.layout().node_name
    uids = sorted(p["metadata"]["uid"] for p in isvc.pods())
    with steady(isvc.predict_url(), body=IRIS_BODY, rate=RATE, check=iris_check) as load:
        clock = load.recorder.now
        with ReadyLog(cli, namespace=isvc.namespace, name=isvc.name, clock=clock) as said:
            time.sleep(WARM_UP)
            stop = load.mark("stop")
            chaos_node.restart(["kubelet", "containerd"], down_seconds=DOWN_SECONDS)
            started = load.mark("started")
            wait_for(f"node {node} Ready", lambda: node_ready(cli, node), timeout=BACK_WITHIN)
            node_back = load.mark("node Ready")
            wait_for(
                f"{isvc.name}'s pods Ready",
                lambda: pods_ready(isvc.pods(), 2),
                timeout=BACK_WITHIN,
                every=0.5,
            )
            isvc.wait_ready(timeout=BACK_WITHIN)
            back = load.mark("Ready")
            time.sleep(SETTLE)
    summary = load.summary(fault="stop")
    gaps = said.not_ready()
    now_uids = sorted(p["metadata"]["uid"] for p in isvc.pods())
    events = cli.json(
        "get", "events", "-n", isvc.namespace,
        "--field-selector", f"involvedObject.kind=InferenceService,involvedObject.name={isvc.name}",
    )["items"]  # fmt: skip
    told = sorted({f"{e['reason']}: {e.get('message', '')}" for e in events})
    shown = "; ".join(f"{g.status} {g.reason}: {g.message} (+{g.at - stop:.0f} s)" for g in gaps)
    notes = (
        f"2 replicas, {RATE} req/s; kubelet + containerd down {DOWN_SECONDS:.0f} s; "
        f"node Ready {node_back - started:.0f} s after the start, InferenceService Ready "
        f"{back - started:.0f} s after; pods {'the same' if now_uids == uids else 'replaced'}; "
        f"Ready said while down: {shown or 'never not Ready'}; failed after Ready: "
        f"{sum(o.failed and o.start >= back for o in load.recorder.snapshot())}"
    )
    results.add("5. kubelet and containerd restarted on the node", summary, notes=notes)
    print(f"node restart under load: {summary.total} requests, failures: {summary.failures()}")
    print(notes)
    print("events:", *told, sep="\n  ")
    # While not Ready, the status said why: a reason and a message, each time it changed; while
    # the node was silent, that the node was (not only that the Deployment lacks replicas).
    assert all(g.reason and g.message for g in gaps), gaps
    assert any(g.reason == "NodeNotReporting" and f"node {node}" in g.message for g in gaps), gaps
    # Back: served without a failure once kube-proxy applied the endpoints that returned with
    # the pods (its sync period, as in scenario 2); none later.
    late = [o for o in load.recorder.snapshot() if o.failed and o.start >= back + PROXY_SYNC]
    assert not late, late[:5]
    assert summary.recovery is not None
