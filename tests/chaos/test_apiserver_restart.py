"""Scenario 4 (`make chaos` only): etcd compacted and the kube-apiserver restarted while the
controller reconciles a batch of InferenceServices (autoscaler class `none`, minReplicas 0: no
pod runs, so the batch fits on this machine).

The controller keeps its lease through the outage: for this scenario its renew deadline is
longer than the apiserver takes to come back here (stop, DOWN_SECONDS, start: ~25 s on this
2-core machine; the chart's default deadline, 10 s, is shorter, and a leader that cannot renew
exits, so its restart would list afresh and no watch would resume). Compaction to etcd's newest
revision, then the restart (its watch cache, the history a watch resumes from, goes with it):
the controller's watches resume from resourceVersions that are gone, get 410 Gone and list
again (kserve_controller_watch_relists_total counts them; the InferenceService watch's is
asserted). Then every InferenceService converges, Ready, with exactly its own children (and its
Ingress admitted by the gateway: IngressAdmitted), and the controller stays quiet afterwards:
over an idle window its write counter (/metrics) stays, no InferenceService or child changes
(resourceVersions), and the apiserver's audit log holds no write of its ServiceAccount but the
leader lease's renewals.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chaos_node
from chaos_cluster import (
    CHILDREN,
    CONTROLLER_LABELS,
    ModelStore,
    apply_batch,
    batch_converged,
    controller_pod,
    controller_samples,
    controller_writes,
    isvc_manifest,
    owned_exactly,
)
from chaos_results import ResultsFile
from e2e_kube import Cli, condition, wait_for

SCENARIO = 4  # CHAOS_SCENARIOS selects by this number (conftest)
COUNT = 150
NAMESPACE = "chaos-api"
RESTART_AFTER = 25  # Deployments made when the fault comes: the controller is mid-way
DOWN_SECONDS = 3.0  # the apiserver stopped this long before it starts again
CONVERGE_WITHIN = 600.0  # scenario 3: 200 converged 40 s after a controller kill; doubled or more
IDLE_SECONDS = 60.0  # no write in this long, once converged
CONTROLLER = ("deployment/kserve-controller-manager", "-n", "kserve", "-c", "kserve-controller")
# The lease of a controller that rides out the outage (the chart's: 15 s, renewed within 10 s)
LEASE = {
    "KSERVE_CONTROLLER_LEASE_DURATION_SECONDS": "150",
    "KSERVE_CONTROLLER_RENEW_DEADLINE_SECONDS": "120",
}
RELISTS = "kserve_controller_watch_relists_total"


def versions(cli: Cli, namespace: str) -> dict[str, str]:
    """`kind/name` -> resourceVersion of every InferenceService and child in the namespace."""
    out = {}
    for kind in ("inferenceservices", *CHILDREN):
        for obj in cli.json("get", kind, "-n", namespace)["items"]:
            out[f"{kind}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    return out


def restart_count(pod: dict[str, Any]) -> int:
    return int(pod["status"]["containerStatuses"][0]["restartCount"])


def set_controller_env(cli: Cli, assignments: list[str]) -> None:
    """`kubectl set env` on the controller, then one controller pod again, Ready."""
    cli.kubectl("set", "env", *CONTROLLER, *assignments)
    cli.kubectl("rollout", "status", *CONTROLLER[:3], "--timeout=180s")

    def one_ready() -> bool:
        found = cli.json("get", "pods", "-n", "kserve", "-l", CONTROLLER_LABELS)["items"]
        return len(found) == 1 and condition(found[0], "Ready").get("status") == "True"

    wait_for("one controller pod, Ready", one_ready, timeout=180, every=0.5)


@contextlib.contextmanager
def lease_outlasting_the_outage(cli: Cli) -> Iterator[None]:
    """The controller with LEASE; back to the chart's lease afterwards, whatever happened."""
    set_controller_env(cli, [f"{k}={v}" for k, v in LEASE.items()])
    try:
        yield
    finally:
        set_controller_env(cli, [f"{k}-" for k in LEASE])


def relists(cli: Cli) -> dict[str, float]:
    """Kind -> the controller's lists after a 410 so far (its /metrics)."""
    return {labels.split('"')[1]: n for labels, n in controller_samples(cli, RELISTS).items()}


def test_apiserver_restarted_and_etcd_compacted_during_reconciles(
    cli: Cli,
    fresh_namespace: Callable[[str], str],
    model_store: ModelStore,
    results: ResultsFile,
    tmp_path: Path,
) -> None:
    namespace = fresh_namespace(NAMESPACE)
    with lease_outlasting_the_outage(cli):
        restart_mid_reconcile(cli, namespace, model_store, results, tmp_path)


def restart_mid_reconcile(
    cli: Cli, namespace: str, model_store: ModelStore, results: ResultsFile, tmp_path: Path
) -> None:
    wanted = [f"api-{i:03d}" for i in range(COUNT)]
    uri = model_store.uri("iris-a")  # never fetched: no pod runs
    items = [isvc_manifest(n, storage_uri=uri, replicas=0, namespace=namespace) for n in wanted]
    manifest = tmp_path / "batch.json"
    plane = chaos_node.control_plane()
    restarts = restart_count(controller_pod(cli))
    relisted_before = relists(cli)
    audit_from = chaos_node.audit_offset()
    applying, made_before = apply_batch(
        cli, items, manifest, namespace=namespace, until_made=RESTART_AFTER
    )
    fault_at = time.monotonic()
    revision = plane.compact_etcd()
    plane.restart_apiserver(down_seconds=DOWN_SECONDS)
    back_at = time.monotonic()
    # An apply the restart cut short is run again, as a user would (apply is idempotent).
    applying.communicate(timeout=300)
    cli.kubectl("apply", "-f", str(manifest), echo=False)

    def controller_ready() -> bool:
        return condition(controller_pod(cli), "Ready").get("status") == "True"

    wait_for("the controller Ready", controller_ready, timeout=180, every=0.5)

    def converged() -> bool:
        if not batch_converged(cli, namespace, wanted):
            return False
        found = cli.json("get", "inferenceservices", "-n", namespace)["items"]
        # Ready, and the gateway (Traefik) admitted the Ingress: it writes each Ingress's
        # load-balancer address, a few a second, and the controller shows it in the status
        return all(
            condition(i, cond).get("status") == "True"
            for i in found
            for cond in ("Ready", "IngressAdmitted")
        )

    wait_for(
        f"all {COUNT} InferenceServices converged, Ready and admitted by the gateway",
        converged,
        timeout=CONVERGE_WITHIN,
        every=2,
    )
    done_at = time.monotonic()
    owned_exactly(cli, namespace, wanted)
    controller_restarts = restart_count(controller_pod(cli)) - restarts
    writes_to_converge = chaos_node.controller_writes_since(audit_from)
    relisted = {
        kind: n - relisted_before.get(kind, 0)
        for kind, n in sorted(relists(cli).items())
        if n > relisted_before.get(kind, 0)
    }

    # Idle: nothing changes, so the controller writes nothing.
    before = versions(cli, namespace)
    counted = controller_writes(cli)
    idle_from = chaos_node.audit_offset()
    time.sleep(IDLE_SECONDS)
    idle_writes = chaos_node.controller_writes_since(idle_from)
    changed = sorted(k for k, v in versions(cli, namespace).items() if before.get(k) != v)
    assert restart_count(controller_pod(cli)) - restarts == controller_restarts
    counted_idle = controller_writes(cli) - counted

    total = sum(writes_to_converge.values())
    notes = (
        f"{COUNT} InferenceServices (autoscaler none, minReplicas 0) applied; etcd compacted at "
        f"revision {revision} and kube-apiserver restarted ({DOWN_SECONDS:.0f} s down) with "
        f"{made_before} of {COUNT} Deployments made; apiserver back "
        f"{back_at - fault_at:.0f} s after, all converged, Ready and admitted "
        f"{done_at - fault_at:.0f} s after; controller restarts: {controller_restarts} "
        f"(lease renewed within {LEASE['KSERVE_CONTROLLER_RENEW_DEADLINE_SECONDS']} s); "
        f"its watches listed again after 410 Gone: "
        f"{', '.join(f'{k} {n:.0f}' for k, n in relisted.items()) or 'none'}; "
        f"its writes from the apply to convergence: {total} "
        f"({', '.join(f'{n} {w}' for w, n in writes_to_converge.most_common())}); "
        f"over {IDLE_SECONDS:.0f} s idle after: {sum(idle_writes.values())} writes (audit log), "
        f"{counted_idle:.0f} (controller metrics), {len(changed)} objects changed"
    )
    results.add("4. kube-apiserver restarted, etcd compacted, mid-reconcile", None, notes=notes)
    print(notes)
    assert controller_restarts == 0  # it kept its lease: the watches resumed, not restarted
    assert relisted.get("InferenceService", 0) >= 1, relisted  # the 410 path, taken
    assert not idle_writes, idle_writes
    assert counted_idle == 0
    assert not changed, changed
