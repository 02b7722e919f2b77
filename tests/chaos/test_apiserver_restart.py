"""Scenario 4 (`make chaos` only): etcd compacted and the kube-apiserver restarted while the
controller reconciles a batch of InferenceServices (autoscaler class `none`, minReplicas 0: no
pod runs, so the batch fits on this machine).

Compaction to etcd's newest revision, then an apiserver restart (its watch cache, the history a
watch resumes from, goes with it): a watch resuming from an older resourceVersion gets 410 Gone
and lists again. Then every InferenceService converges, Ready, with exactly its own children
(and its Ingress admitted by the gateway: IngressAdmitted), and the controller stays quiet
afterwards: over an idle window its write counter (/metrics)
stays, no InferenceService or child changes (resourceVersions), and the apiserver's audit log
holds no write of its ServiceAccount but the leader lease's renewals.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chaos_node
from chaos_cluster import (
    CHILDREN,
    ModelStore,
    batch_converged,
    controller_pod,
    controller_writes,
    isvc_manifest,
    names,
    owned_exactly,
)
from chaos_results import ResultsFile
from e2e_kube import Cli, condition, tool, wait_for

COUNT = 150
NAMESPACE = "chaos-api"
RESTART_AFTER = 25  # Deployments made when the fault comes: the controller is mid-way
DOWN_SECONDS = 3.0  # the apiserver stopped this long before it starts again
CONVERGE_WITHIN = 600.0  # scenario 3: 200 converged 40 s after a controller kill; doubled or more
IDLE_SECONDS = 60.0  # no write in this long, once converged


def versions(cli: Cli, namespace: str) -> dict[str, str]:
    """`kind/name` -> resourceVersion of every InferenceService and child in the namespace."""
    out = {}
    for kind in ("inferenceservices", *CHILDREN):
        for obj in cli.json("get", kind, "-n", namespace)["items"]:
            out[f"{kind}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    return out


def restart_count(pod: dict[str, Any]) -> int:
    return int(pod["status"]["containerStatuses"][0]["restartCount"])


def test_apiserver_restarted_and_etcd_compacted_during_reconciles(
    cli: Cli,
    fresh_namespace: Callable[[str], str],
    model_store: ModelStore,
    results: ResultsFile,
    tmp_path: Path,
) -> None:
    namespace = fresh_namespace(NAMESPACE)
    wanted = [f"api-{i:03d}" for i in range(COUNT)]
    uri = model_store.uri("iris-a")  # never fetched: no pod runs
    items = [isvc_manifest(n, storage_uri=uri, replicas=0, namespace=namespace) for n in wanted]
    manifest = tmp_path / "batch.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    plane = chaos_node.control_plane()
    restarts = restart_count(controller_pod(cli))
    audit_from = chaos_node.audit_offset()
    applying = subprocess.Popen(
        [tool("kubectl"), "apply", "-f", str(manifest)],
        env=cli.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for(
        f"{RESTART_AFTER} Deployments made",
        lambda: len(names(cli, "deployment", namespace)) >= RESTART_AFTER,
        timeout=300,
        every=0.2,
    )
    made_before = len(names(cli, "deployment", namespace))
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
        f"{done_at - fault_at:.0f} s after; controller restarts: "
        f"{controller_restarts}; its writes from the apply to convergence: {total} "
        f"({', '.join(f'{n} {w}' for w, n in writes_to_converge.most_common())}); "
        f"over {IDLE_SECONDS:.0f} s idle after: {sum(idle_writes.values())} writes (audit log), "
        f"{counted_idle:.0f} (controller metrics), {len(changed)} objects changed"
    )
    results.add("4. kube-apiserver restarted, etcd compacted, mid-reconcile", None, notes=notes)
    print(notes)
    assert not idle_writes, idle_writes
    assert counted_idle == 0
    assert not changed, changed
