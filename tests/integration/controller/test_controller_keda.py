"""autoscalerClass keda on a real apiserver with KEDA's CRDs: switching classes (hpa, keda, none)
leaves exactly one scaler and leaves the Deployment's replicas to it; the InferenceService's
conditions follow the ScaledObject status the test writes as KEDA would; without the CRD the
InferenceService names it, and the ScaledObject follows once the CRD is installed.

No KEDA runs here (nor a controller-manager): the test writes what KEDA and the deployment
controller would (ScaledObject status, the scale subresource, Deployment status).
"""

from __future__ import annotations

from typing import Any

import pytest
from controller_env import Installed, cond, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

CLASS = "serving.kserve.io/autoscalerClass"
CRD = "scaledobjects.keda.sh"
MERGE = "application/merge-patch+json"
SCALERS = ("HorizontalPodAutoscaler", "ScaledObject")
PROMETHEUS = {
    "type": "External",
    "external": {
        "metric": {
            "backend": "prometheus",
            "serverAddress": "http://prometheus.monitoring.svc:9090",
            "query": 'sum(rate(inference_requests_total{model_name="m"}[1m]))',
        },
        "target": {"type": "Value", "value": "5"},
    },
}


def with_class(obj: dict[str, Any], autoscaler: str) -> dict[str, Any]:
    obj["metadata"]["annotations"] = {CLASS: autoscaler}
    return obj


async def set_class(admin: Kube, ns: str, name: str, autoscaler: str) -> None:
    body = {"metadata": {"annotations": {CLASS: autoscaler}}}
    await admin.patch("InferenceService", ns, name, body)


async def scalers(admin: Kube, ns: str, name: str) -> set[str]:
    return {k for k in SCALERS if await admin.get(k, ns, name) is not None}


def only(admin: Kube, ns: str, name: str, want: set[str]) -> Any:
    async def probe() -> bool:
        return await scalers(admin, ns, name) == want

    return probe


async def replicas_owners(admin: Kube, ns: str, name: str) -> list[str]:
    """Field managers that own the Deployment's spec.replicas."""
    dep = await admin.get("Deployment", ns, name)
    assert dep is not None
    return [
        m["manager"]
        for m in dep["metadata"].get("managedFields") or []
        if "f:replicas" in ((m.get("fieldsV1") or {}).get("f:spec") or {})
    ]


async def scale(admin: Kube, ns: str, name: str, replicas: int) -> None:
    """What KEDA (to and from zero) and its HPA do: the Deployment's scale subresource."""
    await admin.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale",
        query={"fieldManager": "keda-operator"},
        body={"spec": {"replicas": replicas}},
        content_type=MERGE,
    )


async def write_keda_status(admin: Kube, ns: str, name: str, **conds: tuple[str, str]) -> None:
    """What KEDA writes on a ScaledObject: type -> (status, reason)."""
    written = [
        {"type": t, "status": s, "reason": r, "message": f"{t} {r}"} for t, (s, r) in conds.items()
    ]
    await admin.request(
        "PATCH",
        f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects/{name}/status",
        body={"status": {"conditions": written, "hpaName": f"keda-hpa-{name}"}},
        content_type=MERGE,
    )


def predictor_is(admin: Kube, ns: str, name: str, state: str, reason: str | None) -> Any:
    async def probe() -> dict[str, Any] | None:
        obj = await admin.get("InferenceService", ns, name)
        found = cond(obj, "PredictorReady")
        if found.get("status") == state and found.get("reason") == reason:
            return obj
        return None

    return probe


async def test_class_switches_leave_exactly_one_scaler_and_replicas_to_it(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns, name = namespace, "sw-predictor"
    installed.apiserver.install_keda_crds()
    await start_controller(watch_namespaces=ns)
    await admin.create(isvc("sw", ns, minReplicas=2, maxReplicas=4))
    await wait_for(only(admin, ns, name, {"HorizontalPodAutoscaler"}), what="the HPA alone")

    await set_class(admin, ns, "sw", "keda")
    await wait_for(only(admin, ns, name, {"ScaledObject"}), what="the ScaledObject alone")
    scaled = await admin.get("ScaledObject", ns, name)
    assert scaled is not None
    assert scaled["spec"]["scaleTargetRef"] == {"name": name}
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (2, 4)
    assert scaled["spec"]["triggers"] == [
        {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}
    ]
    assert scaled["metadata"]["ownerReferences"][0]["kind"] == "InferenceService"
    # KEDA's own HPA is the ScaledObject's: left alone, even with all of its labels copied.
    excluded = scaled["metadata"]["annotations"]["scaledobject.keda.sh/hpa-excluded-labels"]
    assert excluded == "serving.kserve.io/inferenceservice"
    keda_hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": f"keda-hpa-{name}",
            "namespace": ns,
            "labels": scaled["metadata"]["labels"],
            "ownerReferences": [
                {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": name,
                 "uid": scaled["metadata"]["uid"], "controller": True},
            ],
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2, "maxReplicas": 4,
        },
    }  # fmt: skip
    await admin.create(keda_hpa)
    # KEDA scales; an edit of the InferenceService re-applies the Deployment without replicas.
    await scale(admin, ns, name, 3)
    edit = {
        "metadata": {"annotations": {"example.com/revision": "2"}},
        "spec": {"predictor": {"maxReplicas": 5}},
    }
    await admin.patch("InferenceService", ns, "sw", edit)
    await wait_for(
        lambda: _field(admin, "ScaledObject", ns, name, key="maxReplicaCount", value=5),
        what="max 5",
    )
    await wait_for(lambda: _annotated(admin, ns, name), what="the Deployment re-applied")
    dep = await admin.get("Deployment", ns, name)
    assert dep is not None and dep["spec"]["replicas"] == 3
    assert "kserve-controller" not in await replicas_owners(admin, ns, name)
    assert await admin.get("HorizontalPodAutoscaler", ns, f"keda-hpa-{name}") is not None

    await set_class(admin, ns, "sw", "none")
    await wait_for(only(admin, ns, name, set()), what="no scaler")
    await wait_for(
        lambda: _field(admin, "Deployment", ns, name, key="replicas", value=2), what="2 fixed"
    )

    await set_class(admin, ns, "sw", "keda")
    await wait_for(only(admin, ns, name, {"ScaledObject"}), what="the ScaledObject again")
    assert "kserve-controller" not in await replicas_owners(admin, ns, name)

    await set_class(admin, ns, "sw", "hpa")
    await wait_for(only(admin, ns, name, {"HorizontalPodAutoscaler"}), what="the HPA again")


async def test_status_follows_the_scaled_object(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns, name = namespace, "st-predictor"
    installed.apiserver.install_keda_crds()
    await start_controller(watch_namespaces=ns)
    auto = {"metrics": [PROMETHEUS]}
    await admin.create(with_class(isvc("st", ns, minReplicas=0, autoScaling=auto), "keda"))
    scaled = await wait_for(lambda: admin.get("ScaledObject", ns, name), what="ScaledObject")
    assert scaled["spec"]["minReplicaCount"] == 0
    assert scaled["spec"]["triggers"][0]["type"] == "prometheus"
    assert scaled["spec"]["triggers"][0]["metadata"]["threshold"] == "5"
    await make_available(admin, ns, name)
    await wait_for(predictor_is(admin, ns, "st", "True", None), what="PredictorReady True")

    await write_keda_status(
        admin, ns, name,
        Ready=("False", "ScaledObjectCheckFailed"), Active=("False", "ScalerNotActive"),
    )  # fmt: skip
    obj = await wait_for(
        predictor_is(admin, ns, "st", "False", "ScaledObjectCheckFailed"), what="not ready"
    )
    assert cond(obj, "PredictorReady")["message"] == (
        f"ScaledObject {name}: Ready ScaledObjectCheckFailed"
    )
    assert cond(obj, "Ready")["status"] == "False"

    await write_keda_status(
        admin, ns, name, Ready=("True", "ScaledObjectReady"), Active=("True", "ScalerActive")
    )
    await wait_for(predictor_is(admin, ns, "st", "True", None), what="ready again")

    # Idle: KEDA scales the Deployment to zero (minReplicas 0); that is Ready, and says so.
    await write_keda_status(
        admin, ns, name, Ready=("True", "ScaledObjectReady"), Active=("False", "ScalerNotActive")
    )
    await scale(admin, ns, name, 0)
    obj = await wait_for(predictor_is(admin, ns, "st", "True", "ScaledToZero"), what="zero")
    assert "no trigger is active" in cond(obj, "PredictorReady")["message"]
    assert (cond(obj, "Ready")["status"], cond(obj, "Ready")["reason"]) == ("True", "ScaledToZero")


async def test_without_the_crd_the_isvc_names_it_then_the_scaled_object_follows(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns, name = namespace, "nocrd-predictor"
    installed.apiserver.delete_crd(CRD)  # a cluster without KEDA, whatever ran before
    await start_controller(watch_namespaces=ns)
    await admin.create(with_class(isvc("nocrd", ns), "keda"))
    await wait_for(lambda: admin.get("Deployment", ns, name), what="the Deployment all the same")
    await make_available(admin, ns, name)
    obj = await wait_for(
        predictor_is(admin, ns, "nocrd", "False", "KEDANotInstalled"), what="KEDANotInstalled"
    )
    message = cond(obj, "PredictorReady")["message"]
    assert CRD in message and "install KEDA" in message
    assert await admin.get("HorizontalPodAutoscaler", ns, name) is None  # no other scaler

    installed.apiserver.install_keda_crds()
    # No event says the CRD came: the controller looks again by itself.
    await wait_for(lambda: admin.get("ScaledObject", ns, name), what="ScaledObject", timeout=60)
    await wait_for(predictor_is(admin, ns, "nocrd", "True", None), what="PredictorReady True")


async def _field(admin: Kube, kind: str, ns: str, name: str, *, key: str, value: Any) -> bool:
    obj = await admin.get(kind, ns, name)
    return obj is not None and (obj.get("spec") or {}).get(key) == value


async def _annotated(admin: Kube, ns: str, name: str) -> bool:
    dep = await admin.get("Deployment", ns, name)
    annotations = ((dep or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get("example.com/revision") == "2"
