"""An InferenceGraph applied on a real apiserver with both charts installed, the controller
running with the chart's RBAC: it waits for the services it names, then gets its router
Deployment, Service and HPA, and turns Ready when the Deployment is Available.

No kubelet or garbage collector runs here: the test marks the Deployment Available, and
checks the owner references the real garbage collector acts on.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import yaml
from controller_env import REPO, cond, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "tests" / "data" / "controller" / "graphs" / "model-chainer.yaml"
NAME = "dog-breed-pipeline"
OWNED = ("Deployment", "Service", "HorizontalPodAutoscaler")


def example_graph(namespace: str) -> dict[str, Any]:
    graph = next(yaml.safe_load_all(EXAMPLE.read_text()))
    graph["metadata"]["namespace"] = namespace
    return dict(graph)


async def graph_args(admin: Kube, ns: str) -> dict[str, Any] | None:
    dep = await admin.get("Deployment", ns, NAME)
    if dep is None:
        return None
    container = dep["spec"]["template"]["spec"]["containers"][0]
    return dict(json.loads(container["args"][1]))


async def test_example_graph_waits_for_its_services_then_runs_and_turns_ready(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    run = await start_controller(watch_namespaces=ns)
    created = await admin.create(example_graph(ns))
    uid = created["metadata"]["uid"]

    async def waiting() -> dict[str, Any] | None:
        c = cond(await admin.get("InferenceGraph", ns, NAME), "Ready")
        return c if c.get("reason") == "ServiceNotFound" else None

    ready = await wait_for(waiting, what="Ready=False ServiceNotFound")
    assert ready["status"] == "False"
    assert ready["message"] == f"InferenceService cat-dog-classifier not found in namespace {ns}"
    assert await admin.get("Deployment", ns, NAME) is None

    await admin.create(isvc("cat-dog-classifier", ns))
    await admin.create(isvc("dog-breed-classifier", ns))
    for name in ("cat-dog-classifier", "dog-breed-classifier"):  # addresses come when ready
        deploy = f"{name}-predictor"
        await wait_for(lambda d=deploy: admin.get("Deployment", ns, d), what=deploy)
        await make_available(admin, ns, deploy)
    spec = await wait_for(lambda: graph_args(admin, ns), what="router Deployment")
    steps = spec["nodes"]["root"]["steps"]
    assert [s["serviceUrl"] for s in steps] == [
        f"http://{n}-predictor.{ns}.svc.cluster.local/v1/models/{n}:predict"
        for n in ("cat-dog-classifier", "dog-breed-classifier")
    ]
    assert steps[1]["condition"] == '[@this].#(predictions.0=="dog")'

    for kind in OWNED:
        obj = await wait_for(lambda k=kind: admin.get(k, ns, NAME), what=kind)
        assert obj["metadata"]["labels"]["serving.kserve.io/inferencegraph"] == NAME
        ref = obj["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (
            "InferenceGraph",
            uid,
            True,
            True,
        )
    dep = await admin.get("Deployment", ns, NAME)
    assert dep is not None
    pod = dep["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["name"] == NAME
    # the image comes from the chart's `router` key of inferenceservice-config
    assert container["image"] == "registry.kserve-py.test/kserve-py/router:0.1.0"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert "env" not in container  # the chart propagates no headers by default

    await make_available(admin, ns, NAME)

    async def is_ready() -> dict[str, Any] | None:
        obj = await admin.get("InferenceGraph", ns, NAME)
        return obj if cond(obj, "Ready").get("status") == "True" else None

    graph = await wait_for(is_ready, what="graph Ready")
    assert graph["status"]["url"] == f"http://{NAME}-{ns}.example.com"
    assert cond(graph, "Stopped")["status"] == "False"

    # Settled: another pass over every graph writes nothing (no update loop).
    await asyncio.wait_for(run.manager.engine("InferenceGraph").queue.wait_idle(), 30)
    before = run.writes()
    versions = [
        (await admin.get(k, ns, NAME) or {})["metadata"]["resourceVersion"]
        for k in ("InferenceGraph", *OWNED)
    ]
    run.manager.resync("InferenceGraph")
    await asyncio.sleep(0.3)  # let the resync reach the queue
    await asyncio.wait_for(run.manager.engine("InferenceGraph").queue.wait_idle(), 30)
    assert run.writes() == before
    assert versions == [
        (await admin.get(k, ns, NAME) or {})["metadata"]["resourceVersion"]
        for k in ("InferenceGraph", *OWNED)
    ]


async def test_deleted_router_service_is_recreated(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    graph = example_graph(ns)
    for step in graph["spec"]["nodes"]["root"]["steps"]:
        step["serviceUrl"] = f"http://{step.pop('serviceName')}.{ns}/v1/models/m:predict"
    await admin.create(graph)
    first = await wait_for(lambda: admin.get("Service", ns, NAME), what="Service")
    await admin.delete("Service", ns, NAME)

    async def recreated() -> dict[str, Any] | None:
        svc = await admin.get("Service", ns, NAME)
        return svc if svc and svc["metadata"]["uid"] != first["metadata"]["uid"] else None

    await wait_for(recreated, what="Service recreated")


async def test_serverless_mode_is_refused_in_status(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    graph = example_graph(ns)
    graph["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Serverless"}
    await admin.create(graph)

    async def refused() -> dict[str, Any] | None:
        c = cond(await admin.get("InferenceGraph", ns, NAME), "Ready")
        return c if c.get("reason") == "ServerlessModeRejected" else None

    ready = await wait_for(refused, what="Ready=False ServerlessModeRejected")
    assert "use RawDeployment" in ready["message"]
    assert await admin.get("Deployment", ns, NAME) is None
