"""Scenario 3 (`make chaos` only): the controller SIGKILLed while 200 InferenceServices are
being applied. Autoscaler class `none` with minReplicas 0: each gets its Deployment (0 pods),
Service and Ingress, so 200 fit on this machine.

After the kubelet restarts the controller, every InferenceService converges (its status
observed its generation) with exactly its own three objects: none lost, none duplicated, none
orphaned (every child's owner reference names a live InferenceService).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chaos_node
import pytest
from chaos_cluster import ModelStore, isvc_manifest
from chaos_results import ResultsFile
from e2e_kube import Cli, condition, tool, wait_for

COUNT = 200
NAMESPACE = "chaos-many"
KILL_AFTER = 40  # Deployments made before the kill: the controller is mid-way
CONVERGE_WITHIN = 600.0  # 200 reconciles on this 2-core machine, measured then doubled or more
CHILDREN = {  # kind -> the child's name for InferenceService NAME
    "deployment": "{}-predictor",
    "service": "{}-predictor",
    "ingress": "{}",
}


def controller_pod(cli: Cli) -> dict[str, Any]:
    found = cli.json(
        "get",
        "pods",
        "-n",
        "kserve",
        "-l",
        "app=kserve-controller,control-plane=kserve-controller-manager",
    )["items"]
    assert len(found) == 1, [p["metadata"]["name"] for p in found]
    return dict(found[0])


def observed_generation(isvc: dict[str, Any]) -> int | None:
    return (isvc.get("status") or {}).get("observedGeneration")


def names(cli: Cli, kind: str) -> list[str]:
    out = cli.kubectl("get", kind, "-n", NAMESPACE, "-o", "name", echo=False)
    return [line.split("/", 1)[1] for line in out.split()]


@pytest.fixture
def many(cli: Cli, kserve: None) -> Iterator[str]:
    """A namespace of its own: 200 InferenceServices, deleted (and waited on) after."""
    cli.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait")
    cli.kubectl("create", "namespace", NAMESPACE)
    yield NAMESPACE
    cli.kubectl("delete", "namespace", NAMESPACE, "--wait", "--timeout=300s", check=False)


def test_controller_sigkilled_while_200_inferenceservices_are_applied(
    cli: Cli, many: str, model_store: ModelStore, results: ResultsFile, tmp_path: Path
) -> None:
    wanted = [f"many-{i:03d}" for i in range(COUNT)]
    uri = model_store.uri("iris-a")  # never fetched: no pod runs
    items = [isvc_manifest(n, storage_uri=uri, replicas=0, namespace=many) for n in wanted]
    manifest = tmp_path / "many.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    pod = controller_pod(cli)
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    cid = chaos_node.container_id(pod, "kserve-controller")
    t0 = time.monotonic()
    applying = subprocess.Popen(
        [tool("kubectl"), "apply", "-f", str(manifest)],
        env=cli.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for(
        f"{KILL_AFTER} Deployments made",
        lambda: len(names(cli, "deployment")) >= KILL_AFTER,
        timeout=300,
        every=0.2,
    )
    made_before = len(names(cli, "deployment"))
    killed_at = time.monotonic()
    chaos_node.sigkill(cid)
    _, err = applying.communicate(timeout=300)
    assert applying.returncode == 0, err
    applied_at = time.monotonic()

    def restarted() -> bool:
        now = controller_pod(cli)
        status = now["status"]["containerStatuses"][0]
        return status["restartCount"] > restarts and condition(now, "Ready").get("status") == "True"

    wait_for("the controller restarted and Ready", restarted, timeout=180, every=0.5)
    back_at = time.monotonic()

    def converged() -> bool:
        found = cli.json("get", "inferenceservices", "-n", NAMESPACE)["items"]
        observed = [i for i in found if observed_generation(i) == i["metadata"]["generation"]]
        return len(observed) == COUNT and all(
            sorted(names(cli, kind)) == sorted(pattern.format(n) for n in wanted)
            for kind, pattern in CHILDREN.items()
        )

    wait_for(
        f"all {COUNT} InferenceServices converged", converged, timeout=CONVERGE_WITHIN, every=2
    )
    done_at = time.monotonic()
    isvcs = cli.json("get", "inferenceservices", "-n", NAMESPACE)["items"]
    assert sorted(i["metadata"]["name"] for i in isvcs) == wanted  # none lost
    uids = {i["metadata"]["name"]: i["metadata"]["uid"] for i in isvcs}
    for kind, pattern in CHILDREN.items():
        children = cli.json("get", kind, "-n", NAMESPACE)["items"]
        assert len(children) == COUNT, kind  # none duplicated
        for child in children:
            owners = child["metadata"].get("ownerReferences") or []
            controllers = [o for o in owners if o.get("controller")]
            assert len(controllers) == 1, (kind, child["metadata"]["name"], owners)
            owner = controllers[0]
            assert owner["kind"] == "InferenceService"
            assert uids.get(owner["name"]) == owner["uid"], (kind, child["metadata"]["name"])
            assert child["metadata"]["name"] == pattern.format(owner["name"])
    notes = (
        f"{COUNT} InferenceServices (autoscaler none, minReplicas 0) applied; controller "
        f"SIGKILLed with {made_before} Deployments made; apply done "
        f"{applied_at - t0:.0f} s, controller back {back_at - killed_at:.0f} s after the kill, "
        f"all converged {done_at - killed_at:.0f} s after it; 0 lost, 0 duplicated, 0 orphaned"
    )
    results.add(
        "3. controller SIGKILLed while 200 InferenceServices are applied", None, notes=notes
    )
    print(notes)
