"""An InferenceService with a transformer and an explainer, on a real apiserver.

No kubelet runs here: the test marks Deployments Available as the deployment controller
would, and nothing garbage-collects, so a removed component's objects disappear only
because the controller deletes them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from controller_env import cond, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler")
TRANSFORMER = {
    "containerConcurrency": 2,
    "containers": [
        {
            "name": "kserve-container",
            "image": "example.test/transformer:1.0",
            "args": ["--model_name", "iris"],
        }
    ],
}


async def _ready(admin: Kube, ns: str, name: str) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", ns, name)
    return obj if cond(obj, "Ready").get("status") == "True" else None


async def _settle(running: Any) -> None:
    await asyncio.sleep(0.3)  # let the last watch events reach the queue
    await asyncio.wait_for(running.manager.wait_idle(), 30)


async def test_transformer_gets_its_objects_and_takes_the_traffic(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    running = await start_controller()
    body = isvc("tr", namespace)
    body["spec"]["transformer"] = TRANSFORMER
    created = await admin.create(body)

    for kind in KINDS:
        obj = await wait_for(
            lambda k=kind: admin.get(k, namespace, "tr-transformer"), what=f"{kind} tr-transformer"
        )
        assert obj["metadata"]["labels"]["component"] == "transformer"
        (owner,) = obj["metadata"]["ownerReferences"]
        assert (owner["uid"], owner["controller"]) == (created["metadata"]["uid"], True)
    deploy = await admin.get("Deployment", namespace, "tr-transformer")
    assert deploy is not None
    (main,) = deploy["spec"]["template"]["spec"]["containers"]
    assert main["name"] == "kserve-container"
    assert main["args"] == [
        "--model_name", "iris",
        "--predictor_host", f"tr-predictor.{namespace}",
        "--http_port", "8080",
        "--workers", "2",
    ]  # fmt: skip
    # The chart's inferenceService.resource defaults (the container sets none).
    assert main["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    svc = await admin.get("Service", namespace, "tr-transformer")
    assert svc is not None and svc["spec"]["selector"] == {"app": "isvc.tr-transformer"}
    await make_available(admin, namespace, "tr-predictor")
    got = await wait_for(
        lambda: _condition(admin, namespace, "tr", "PredictorReady", "True"), what="PredictorReady"
    )
    assert cond(got, "TransformerReady")["status"] != "True"
    assert cond(got, "Ready")["status"] != "True"  # the transformer is not available yet
    ingress_cond = cond(got, "IngressReady")
    assert (ingress_cond["status"], ingress_cond["reason"]) == (
        "False",
        "Transformer ingress not created",
    )
    assert await admin.get("Ingress", namespace, "tr") is None
    await make_available(admin, namespace, "tr-transformer")
    ready = await wait_for(lambda: _ready(admin, namespace, "tr"), what="Ready=True")
    st = ready["status"]
    assert cond(ready, "TransformerReady")["status"] == "True"
    ingress = await admin.get("Ingress", namespace, "tr")
    assert ingress is not None
    routes = {
        r["host"]: r["http"]["paths"][0]["backend"]["service"]["name"]
        for r in ingress["spec"]["rules"]
    }
    assert routes[f"tr-{namespace}.example.com"] == "tr-transformer"
    assert routes[f"tr-predictor-{namespace}.example.com"] == "tr-predictor"
    assert st["url"] == f"http://tr-{namespace}.example.com"
    assert st["address"]["url"] == f"http://tr-transformer.{namespace}.svc.cluster.local"
    assert (
        st["components"]["transformer"]["url"] == f"http://tr-transformer-{namespace}.example.com"
    )

    # Nothing left to change: another full pass writes nothing.
    await _settle(running)
    before = running.writes()
    running.manager.resync()
    await _settle(running)
    assert running.writes() == before


async def _condition(
    admin: Kube, ns: str, name: str, kind: str, value: str | None = None
) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", ns, name)
    found = cond(obj, kind)
    return obj if found and (value is None or found.get("status") == value) else None


async def test_removing_the_transformer_deletes_its_objects(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    running = await start_controller()
    body = isvc("gone", namespace)
    body["spec"]["transformer"] = TRANSFORMER
    body["spec"]["explainer"] = {
        "containers": [{"name": "kserve-container", "image": "example.test/explainer:1.0"}]
    }
    await admin.create(body)
    for kind in KINDS:
        for part in ("transformer", "explainer"):
            name = f"gone-{part}"
            await wait_for(lambda k=kind, n=name: admin.get(k, namespace, n), what=f"{kind} {name}")
    got = await wait_for(
        lambda: _condition(admin, namespace, "gone", "ExplainerReady"), what="ExplainerReady"
    )
    assert cond(got, "ExplainerReady")["status"] != "True"
    for part in ("predictor", "transformer", "explainer"):
        await make_available(admin, namespace, f"gone-{part}")
    await wait_for(lambda: admin.get("Ingress", namespace, "gone"), what="ingress")

    # a merge patch, as `kubectl patch --type merge` (a GET + PUT races the controller's
    # status writes, which move the resourceVersion: 409 Conflict)
    await admin.patch("InferenceService", namespace, "gone", {"spec": {"transformer": None}})

    async def deleted() -> bool:
        found = [await admin.get(k, namespace, "gone-transformer") for k in KINDS]
        return all(f is None for f in found)

    await wait_for(deleted, what="transformer objects deleted")
    for kind in KINDS:  # the explainer stays
        assert await admin.get(kind, namespace, "gone-explainer") is not None
    ingress = await admin.get("Ingress", namespace, "gone")
    assert ingress is not None
    backends = {
        r["http"]["paths"][0]["backend"]["service"]["name"] for r in ingress["spec"]["rules"]
    }
    assert backends == {"gone-predictor", "gone-explainer"}
    no_condition = await wait_for(
        lambda: _without(admin, namespace, "gone", "TransformerReady"), what="condition gone"
    )
    assert no_condition["status"]["address"]["url"].startswith("http://gone-predictor.")
    await _settle(running)
    before = running.writes()
    running.manager.resync()
    await _settle(running)
    assert running.writes() == before


async def _without(admin: Kube, ns: str, name: str, kind: str) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", ns, name)
    return obj if obj and not cond(obj, kind) else None


async def test_art_explainer_is_not_supported_and_says_so(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    body = isvc("art", namespace)
    body["spec"]["explainer"] = {"art": {"type": "SquareAttack"}}
    await admin.create(body)

    async def not_supported() -> dict[str, Any] | None:
        obj = await admin.get("InferenceService", namespace, "art")
        return obj if cond(obj, "Ready").get("reason") == "NotSupported" else None

    got = await wait_for(not_supported, what="NotSupported")
    assert "spec.explainer.art" in cond(got, "Ready")["message"]
    assert await admin.get("Deployment", namespace, "art-predictor") is None
