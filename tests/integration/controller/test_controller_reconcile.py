"""What a user sees after `kubectl apply` of an InferenceService, on a real apiserver.

There is no kubelet and no kube-controller-manager here: the test plays their part where
needed (marks the Deployment Available, writes a pod's init container status).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from controller_env import cond, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

OWNED = [
    ("Deployment", "{}-predictor"),
    ("Service", "{}-predictor"),
    ("HorizontalPodAutoscaler", "{}-predictor"),
]


async def test_tutorial_isvc_gets_its_objects_status_and_log_lines(
    start_controller: Any, admin: Kube, tutorial_isvc: dict[str, Any], caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="kserve_controller")
    ns = tutorial_isvc["metadata"]["namespace"]
    await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await start_controller()
    created = await admin.create(tutorial_isvc)
    uid = created["metadata"]["uid"]

    for kind, pattern in OWNED:
        name = pattern.format("sklearn-iris")
        obj = await wait_for(lambda k=kind, n=name: admin.get(k, ns, n), what=f"{kind} {name}")
        owners = obj["metadata"]["ownerReferences"]
        assert [(o["kind"], o["uid"], o["controller"]) for o in owners] == [
            ("InferenceService", uid, True)
        ]
    deploy = await admin.get("Deployment", ns, "sklearn-iris-predictor")
    assert deploy is not None
    pod = deploy["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["args"] == [
        "gs://kfserving-examples/models/sklearn/1.0/model",
        "/mnt/models",
    ]
    assert pod["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "512Mi"}
    svc = await admin.get("Service", ns, "sklearn-iris-predictor")
    assert svc is not None and svc["spec"]["ports"][0]["port"] == 80

    # As upstream: no Ingress and no URL until the predictor is ready.
    got = await wait_for(
        lambda: _condition_is(
            admin,
            ns,
            "sklearn-iris",
            "IngressReady",
            "False",
            reason="Predictor ingress not created",
        ),
        what="IngressReady=False",
    )
    assert "url" not in got["status"] and "address" not in got["status"]
    assert got["status"]["clusterServingRuntimeName"] == "kserve-sklearnserver"
    assert cond(got, "Ready")["status"] != "True"
    assert await admin.get("Ingress", ns, "sklearn-iris") is None

    lines = [r.getMessage() for r in caplog.records]
    for phrase in (
        "Reconciling inference service sklearn-iris",
        "Creating deployment sklearn-iris-predictor in namespace ml",
        "Creating service sklearn-iris-predictor in namespace ml",
        "Creating horizontal pod autoscaler sklearn-iris-predictor in namespace ml",
    ):
        assert any(phrase in line for line in lines), (phrase, lines)
    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(info) <= 10, [r.getMessage() for r in info]

    await make_available(admin, ns, "sklearn-iris-predictor")
    ready = await wait_for(
        lambda: _condition_is(admin, ns, "sklearn-iris", "Ready", "True"), what="Ready=True"
    )
    assert cond(ready, "PredictorReady")["status"] == "True"
    assert cond(ready, "IngressReady")["status"] == "True"
    assert ready["status"]["observedGeneration"] == 1
    assert ready["status"]["url"] == "http://sklearn-iris-ml.example.com"
    assert ready["status"]["address"]["url"] == "http://sklearn-iris-predictor.ml.svc.cluster.local"
    ingress = await admin.get("Ingress", ns, "sklearn-iris")
    assert ingress is not None
    assert ingress["metadata"]["ownerReferences"][0]["uid"] == uid
    assert ready["status"]["components"]["predictor"] == {
        "url": "http://sklearn-iris-predictor-ml.example.com"
    }

    async def _reasons() -> set[str] | None:
        # The Ready event is recorded after the status write that the wait above saw.
        reasons = {e["reason"] for e in await admin.items("Event", ns)}
        return reasons if {"Created", "InferenceServiceReady"} <= reasons else None

    await wait_for(_reasons, what="Created and InferenceServiceReady events")


async def _status_has(admin: Kube, ns: str, name: str, key: str) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", ns, name)
    return obj if obj and (obj.get("status") or {}).get(key) else None


async def _condition_is(
    admin: Kube, ns: str, name: str, kind: str, value: str, *, reason: str | None = None
) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", ns, name)
    c = cond(obj, kind)
    if c.get("status") == value and (reason is None or c.get("reason") == reason):
        return obj
    return None


async def test_edit_storage_uri_updates_the_deployment(
    start_controller: Any, admin: Kube, namespace: str, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="kserve_controller")
    await start_controller()
    await admin.create(isvc("edit", namespace, storage_uri="gs://bucket/v1"))
    await wait_for(lambda: admin.get("Deployment", namespace, "edit-predictor"), what="deployment")
    await admin.patch(
        "InferenceService",
        namespace,
        "edit",
        {"spec": {"predictor": {"model": {"storageUri": "gs://bucket/v2"}}}},
    )

    async def args() -> list[str] | None:
        d = await admin.get("Deployment", namespace, "edit-predictor")
        got = d["spec"]["template"]["spec"]["initContainers"][0]["args"] if d else None
        return got if got and got[0] == "gs://bucket/v2" else None

    await wait_for(args, what="initContainer args with v2")
    assert any(
        "Updating deployment edit-predictor in namespace" in r.getMessage() for r in caplog.records
    )


async def test_deleted_service_is_recreated(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    await admin.create(isvc("svc", namespace))
    first = await wait_for(lambda: admin.get("Service", namespace, "svc-predictor"), what="svc")
    assert await admin.delete("Service", namespace, "svc-predictor")

    async def recreated() -> dict[str, Any] | None:
        s = await admin.get("Service", namespace, "svc-predictor")
        return s if s and s["metadata"]["uid"] != first["metadata"]["uid"] else None

    await wait_for(recreated, what="a new Service")


async def test_configmap_change_applies_without_restart(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    await admin.create(isvc("conf", namespace))
    await wait_for(lambda: admin.get("Deployment", namespace, "conf-predictor"), what="deployment")
    await make_available(admin, namespace, "conf-predictor")
    await wait_for(lambda: _status_has(admin, namespace, "conf", "url"), what="url")
    cm = await admin.get("ConfigMap", "kserve", "inferenceservice-config")
    assert cm is not None
    original = cm["data"]["ingress"]
    ingress = json.loads(original)
    ingress["ingressDomain"] = "models.example.org"
    try:
        await admin.patch(
            "ConfigMap",
            "kserve",
            "inferenceservice-config",
            {"data": {"ingress": json.dumps(ingress)}},
        )
        want = f"http://conf-{namespace}.models.example.org"

        async def moved() -> dict[str, Any] | None:
            obj = await admin.get("InferenceService", namespace, "conf")
            ing = await admin.get("Ingress", namespace, "conf")
            hosts = [r["host"] for r in (ing or {}).get("spec", {}).get("rules", [])]
            ok = (obj or {}).get("status", {}).get("url") == want and want[7:] in hosts
            return obj if ok else None

        await wait_for(moved, what=want)
    finally:
        await admin.patch(
            "ConfigMap", "kserve", "inferenceservice-config", {"data": {"ingress": original}}
        )


async def test_missing_runtime_is_a_condition_until_one_appears(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    await admin.create(isvc("tf", namespace, fmt="pmml"))  # a format no default runtime serves
    got = await wait_for(
        lambda: _condition_is(
            admin, namespace, "tf", "Ready", "False", reason="NoSupportingRuntime"
        ),
        what="NoSupportingRuntime",
    )
    message = cond(got, "Ready")["message"]
    assert "pmml" in message
    # the formats the chart's runtimes serve, so the user sees what would work
    assert "the installed runtimes serve" in message
    assert "onnx [v1, v2, grpc-v2]" in message
    assert "tensorflow [v1, v2, grpc-v1, grpc-v2]" in message
    assert await admin.get("Deployment", namespace, "tf-predictor") is None
    await admin.create(
        {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "ServingRuntime",
            "metadata": {"name": "tf-serving", "namespace": namespace},
            "spec": {
                "supportedModelFormats": [{"name": "pmml", "autoSelect": True}],
                "containers": [{"name": "kserve-container", "image": "example.test/tf:1"}],
            },
        }
    )
    await wait_for(lambda: admin.get("Deployment", namespace, "tf-predictor"), what="deployment")
    got = await wait_for(
        lambda: _status_has(admin, namespace, "tf", "servingRuntimeName"), what="runtime name"
    )
    assert got["status"]["servingRuntimeName"] == "tf-serving"


async def test_failed_download_shows_in_status(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    await admin.create(isvc("bad", namespace, storage_uri="gs://no-such-bucket/model"))
    deploy = await wait_for(
        lambda: admin.get("Deployment", namespace, "bad-predictor"), what="deploy"
    )
    # The pod the ReplicaSet would create, and the status the kubelet would write.
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    spec = deploy["spec"]["template"]["spec"]
    await admin.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "bad-predictor-abc", "namespace": namespace, "labels": labels},
            "spec": spec,
        }
    )
    message = "gs://no-such-bucket/model: bucket does not exist"
    await admin.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/bad-predictor-abc/status",
        body={
            "status": {
                "phase": "Pending",
                "initContainerStatuses": [
                    {
                        "name": "storage-initializer",
                        "image": spec["initContainers"][0]["image"],
                        "imageID": "",
                        "ready": False,
                        "restartCount": 3,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {
                            "terminated": {
                                "exitCode": 1,
                                "reason": "Error",
                                "message": message,
                                "startedAt": "2026-01-01T00:00:00Z",
                                "finishedAt": "2026-01-01T00:00:01Z",
                            }
                        },
                    }
                ],
            }
        },
        content_type="application/merge-patch+json",
    )
    got = await wait_for(
        lambda: _condition_is(admin, namespace, "bad", "Ready", "False", reason="ModelLoadFailed"),
        what="ModelLoadFailed",
    )
    assert cond(got, "PredictorReady")["message"] == message
    info = got["status"]["modelStatus"]
    assert info["transitionStatus"] == "BlockedByFailedLoad"
    assert info["lastFailureInfo"]["message"] == message
    assert info["lastFailureInfo"]["exitCode"] == 1


async def test_deleting_the_isvc_leaves_owner_refs_for_gc(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    # No garbage collector runs here; what we can check is that every child points at the
    # isvc with blockOwnerDeletion, which is what the real GC acts on.
    await start_controller()
    created = await admin.create(isvc("gc", namespace))
    for kind, pattern in OWNED:
        name = pattern.format("gc")
        obj = await wait_for(lambda k=kind, n=name: admin.get(k, namespace, n), what=kind)
        ref = obj["metadata"]["ownerReferences"][0]
        assert (ref["uid"], ref["blockOwnerDeletion"]) == (created["metadata"]["uid"], True)


async def test_only_the_configured_namespaces_are_watched(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    others = [f"{namespace}-a", f"{namespace}-b"]
    for ns in others:
        await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    # Two namespaces: one watch per namespace and kind, reads go to the apiserver directly.
    await start_controller(watch_namespaces=",".join(others))
    for ns in [*others, namespace]:
        await admin.create(isvc("w", ns))
    for ns in others:
        await wait_for(lambda n=ns: admin.get("Deployment", n, "w-predictor"), what=ns)
        await wait_for(lambda n=ns: _status_has(admin, n, "w", "conditions"), what=f"{ns} status")
    assert await admin.get("Deployment", namespace, "w-predictor") is None


async def test_a_probe_on_port_0_probes_the_servers_port(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    # The CRD requires a port, and Go clients write an unset one as 0 (Knative reads that as
    # "the server's port"). A Deployment with port 0 is refused (422), so the controller names
    # the model server's port, and the InferenceService gets its objects and status.
    await start_controller()
    body = isvc("probe", namespace)
    probe = {"httpGet": {"path": "/v2/health/ready", "port": 0}}
    body["spec"]["predictor"]["model"]["readinessProbe"] = probe
    await admin.create(body)
    deploy = await wait_for(
        lambda: admin.get("Deployment", namespace, "probe-predictor"), what="deployment"
    )
    main = deploy["spec"]["template"]["spec"]["containers"][0]
    assert main["readinessProbe"]["httpGet"] == {
        "path": "/v2/health/ready",
        "port": 8080,
        "scheme": "HTTP",
    }
    await make_available(admin, namespace, "probe-predictor")

    async def predictor_ready() -> dict[str, Any] | None:
        got = await admin.get("InferenceService", namespace, "probe")
        return got if cond(got, "PredictorReady").get("status") == "True" else None

    await wait_for(predictor_ready, what="PredictorReady")


async def test_an_owned_object_the_apiserver_refuses_is_a_condition_with_its_message(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    # The CRD takes any resources; the apiserver refuses a Deployment asking more than its limit.
    await start_controller(watch_namespaces=namespace)
    greedy = isvc("greedy", namespace)
    greedy["spec"]["predictor"]["model"]["resources"] = {
        "requests": {"cpu": "2"},
        "limits": {"cpu": "100m"},
    }
    await admin.create(greedy)
    ready = await wait_for(
        lambda: _condition_is(
            admin, namespace, "greedy", "Ready", "False", reason="RejectedByApiServer"
        ),
        what="Ready=False RejectedByApiServer",
    )
    message = cond(ready, "Ready")["message"]
    assert "Deployment greedy-predictor" in message
    assert "must be less than or equal to cpu limit" in message
