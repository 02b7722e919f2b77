"""Scenario 2: one model pod of two SIGKILLed under steady load.

The kill comes from the node (the container's processes, as a crash or the OOM killer would),
not `kubectl delete`: nothing tells the pod beforehand, so what is in flight on it fails, and
connections kube-proxy still sends to it are refused until its endpoint leaves the Service. The
kubelet restarts the container in the same pod; it rejoins the endpoints once its model is
loaded (readiness), and nothing fails from then on.
"""

from __future__ import annotations

import time

import chaos_node
import pytest
from chaos_cluster import IRIS_BODY, IsvcFactory, iris_check
from chaos_load import steady
from chaos_results import ResultsFile
from chaos_watch import EndpointWatch
from e2e_kube import condition, wait_for

SCENARIO = 2  # CHAOS_SCENARIOS selects by this number (conftest)
RATE = 60  # requests a second
WORKERS = 8  # at most this many requests in flight at once, on both pods together
WARM_UP = 5.0
SETTLE = 5.0  # seconds of load after the pod is back
# kube-proxy applies an EndpointSlice change within its sync period (1 s by default): a
# connection started this long after the endpoint left may still have been sent to the pod
PROXY_SYNC = 2.0
BACK_WITHIN = 120.0


@pytest.mark.short
def test_a_model_pod_sigkilled_under_load(isvc_factory: IsvcFactory, results: ResultsFile) -> None:
    isvc = isvc_factory("podkill", replicas=2)
    victim = isvc.pods()[0]
    name, uid, ip = victim["metadata"]["name"], victim["metadata"]["uid"], victim["status"]["podIP"]
    restarts = victim["status"]["containerStatuses"][0]["restartCount"]
    cid = chaos_node.container_id(victim, "kserve-container")
    with steady(
        isvc.predict_url(), body=IRIS_BODY, rate=RATE, workers=WORKERS, check=iris_check
    ) as load:
        watch = EndpointWatch(
            isvc.cli, namespace=isvc.namespace, service=isvc.workload, ip=ip,
            clock=load.recorder.now,
        )  # fmt: skip
        with watch:
            time.sleep(WARM_UP)
            killed_at = load.mark("SIGKILL")
            pids = chaos_node.sigkill(cid)

            def back() -> bool:
                pod = isvc.cli.json("get", "pod", name, "-n", isvc.namespace)
                status = pod["status"]["containerStatuses"][0]
                return (
                    status["restartCount"] > restarts
                    and condition(pod, "Ready").get("status") == "True"
                )

            wait_for(f"pod {name} restarted and Ready", back, timeout=BACK_WITHIN, every=0.5)
            back_at = load.mark("back")
            time.sleep(SETTLE)
    pod = isvc.cli.json("get", "pod", name, "-n", isvc.namespace)
    assert pod["metadata"]["uid"] == uid  # the same pod: its container restarted in place
    summary = load.summary(fault="SIGKILL")
    failures = [o for o in load.recorder.snapshot() if o.failed]
    assert watch.left is not None, "the killed pod never left the Service's ready endpoints"
    late = [o for o in failures if o.start > watch.left + PROXY_SYNC]
    in_flight = [o for o in failures if o.start < killed_at]
    notes = (
        f"2 replicas, {RATE} req/s, {WORKERS} workers; SIGKILL to {len(pids)} process(es); "
        f"endpoint left after {watch.left - killed_at:.1f} s, "
        f"{len(in_flight)} failed in flight; pod Ready again after {back_at - killed_at:.1f} s"
    )
    results.add("2. one model pod of two SIGKILLed", summary, notes=notes)
    print(f"pod SIGKILLed under load: {summary.total} requests, failures: {summary.failures()}")
    print(notes)
    # What was in flight on the pod is lost: at most one request per worker.
    assert len(in_flight) <= WORKERS, in_flight
    # Then only what kube-proxy still sent to the dead pod, until its endpoint went; after
    # that, and after the pod rejoined, nothing.
    assert not late, late
    assert summary.recovery is not None and summary.recovery < back_at - killed_at + SETTLE
