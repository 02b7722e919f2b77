"""Settings the CRDs accept either work or say on the object that they do not, on a real
apiserver with both charts installed: the stop annotation (InferenceService and
InferenceGraph), TrainedModel, storageContainerName and ClusterStorageContainer
(ingress.enableGatewayApi: test_controller_routes.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from controller_env import cond, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

STOP = "serving.kserve.io/stop"
OWNED = ("Deployment", "Service", "HorizontalPodAutoscaler")


async def _reason(admin: Kube, kind: str, ns: str, name: str, condition: str) -> str | None:
    return cond(await admin.get(kind, ns, name), condition).get("reason")


async def _annotate(admin: Kube, kind: str, ns: str, name: str, value: str | None) -> None:
    await admin.patch(kind, ns, name, {"metadata": {"annotations": {STOP: value}}})


async def _all_gone(admin: Kube, ns: str, refs: list[tuple[str, str]]) -> bool:
    return all([await admin.get(kind, ns, name) is None for kind, name in refs])


async def test_stop_annotation_deletes_every_object_and_removing_it_brings_them_back(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    await admin.create(isvc("halt", ns))
    await wait_for(lambda: admin.get("Deployment", ns, "halt-predictor"), what="Deployment")
    await make_available(admin, ns, "halt-predictor")
    await wait_for(lambda: admin.get("Ingress", ns, "halt"), what="Ingress")
    # Stopped=False does not count against Ready.
    running = await wait_for(
        lambda: _reason_is(admin, ns, "halt", "Ready", status="True"), what="Ready=True"
    )
    stopped_flag = cond(running, "Stopped")
    assert (stopped_flag["status"], stopped_flag["severity"]) == ("False", "Info")

    # Upstream compares the value to "true" ignoring case.
    await _annotate(admin, "InferenceService", ns, "halt", "TRUE")
    refs = [(k, "halt-predictor") for k in OWNED] + [("Ingress", "halt")]
    await wait_for(lambda: _all_gone(admin, ns, refs), what="every owned object deleted")

    async def stopped() -> dict[str, Any] | None:
        obj = await admin.get("InferenceService", ns, "halt")
        return obj if cond(obj, "Stopped").get("status") == "True" else None

    obj = await wait_for(stopped, what="Stopped=True")
    for kind in ("PredictorReady", "IngressReady", "Ready"):
        c = cond(obj, kind)
        assert (c["status"], c.get("reason")) == ("False", "Stopped"), kind
    assert "url" not in obj["status"]

    await _annotate(admin, "InferenceService", ns, "halt", "false")
    await wait_for(lambda: admin.get("Deployment", ns, "halt-predictor"), what="Deployment back")
    await wait_for(lambda: admin.get("Service", ns, "halt-predictor"), what="Service back")
    back = await wait_for(
        lambda: _reason_is(admin, ns, "halt", "Stopped", status="False"), what="Stopped=False"
    )
    assert cond(back, "PredictorReady").get("reason") != "Stopped"


async def _reason_is(admin: Kube, ns: str, name: str, kind: str, *, status: str) -> Any:
    obj = await admin.get("InferenceService", ns, name)
    return obj if cond(obj, kind).get("status") == status else None


def _graph(ns: str, name: str) -> dict[str, Any]:
    url = f"http://model.{ns}.svc.cluster.local/v1/models/model:predict"
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "InferenceGraph",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [{"serviceUrl": url}]}}},
    }


async def test_stopped_inference_graph_loses_its_router_until_resumed(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    await admin.create(_graph(ns, "chain"))
    for kind in OWNED:
        await wait_for(lambda k=kind: admin.get(k, ns, "chain"), what=f"{kind} chain")
    await _annotate(admin, "InferenceGraph", ns, "chain", "true")
    await wait_for(lambda: _all_gone(admin, ns, [(k, "chain") for k in OWNED]), what="gone")

    async def stopped() -> dict[str, Any] | None:
        obj = await admin.get("InferenceGraph", ns, "chain")
        return obj if cond(obj, "Stopped").get("status") == "True" else None

    obj = await wait_for(stopped, what="graph Stopped=True")
    assert (cond(obj, "Ready")["status"], cond(obj, "Ready")["reason"]) == ("False", "Stopped")
    assert "url" not in obj["status"]

    await _annotate(admin, "InferenceGraph", ns, "chain", None)  # removed
    await wait_for(lambda: admin.get("Deployment", ns, "chain"), what="router back")


async def test_trained_model_says_not_supported_on_its_status(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    await admin.create(
        {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "TrainedModel",
            "metadata": {"name": "extra", "namespace": ns},
            "spec": {
                "inferenceService": "host",
                "model": {"storageUri": "gs://b/m", "framework": "sklearn", "memory": "256Mi"},
            },
        }
    )

    async def refused() -> dict[str, Any] | None:
        ready = cond(await admin.get("TrainedModel", ns, "extra"), "Ready")
        return ready if ready.get("reason") == "NotSupported" else None

    ready = await wait_for(refused, what="TrainedModel Ready=False NotSupported")
    assert ready["status"] == "False"
    assert "multi-model serving" in ready["message"]


async def test_storage_container_name_is_not_supported_in_status(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    await admin.create(isvc("named", ns, storageContainerName="my-downloader"))
    reason = await wait_for(
        lambda: _reason(admin, "InferenceService", ns, "named", "Ready"), what="a Ready reason"
    )
    assert reason == "NotSupported"
    message = cond(await admin.get("InferenceService", ns, "named"), "Ready")["message"]
    assert "storageContainerName" in message
    assert await admin.get("Deployment", ns, "named-predictor") is None


async def test_matching_cluster_storage_container_is_served_with_one_warning(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    name = f"csc-{ns}"
    await admin.create(
        {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "ClusterStorageContainer",
            "metadata": {"name": name},
            "spec": {
                "container": {"name": "storage-initializer", "image": "example.org/dl:1"},
                "supportedUriFormats": [{"prefix": f"gs://{ns}/"}],
            },
        }
    )
    try:
        run = await start_controller(watch_namespaces=ns)
        await admin.create(isvc("matched", ns, storage_uri=f"gs://{ns}/model"))
        await admin.create(isvc("unmatched", ns, storage_uri="gs://other/model"))
        for svc in ("matched", "unmatched"):
            await wait_for(lambda s=svc: admin.get("Deployment", ns, f"{s}-predictor"), what=svc)

        async def warned() -> list[dict[str, Any]] | None:
            events = await admin.items("Event", ns)
            found = [e for e in events if e["reason"] == "StorageContainerNotUsed"]
            return found or None

        (event,) = await wait_for(warned, what="a StorageContainerNotUsed event")
        assert event["type"] == "Warning"
        assert event["involvedObject"]["name"] == "matched"
        assert name in event["message"]
        run.manager.resync()  # a second pass warns no more
        await run.settled()
        assert len(await warned() or []) == 1
    finally:
        await admin.delete("ClusterStorageContainer", None, name)
