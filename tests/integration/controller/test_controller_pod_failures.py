"""A model pod the kubelet keeps killing, as a user sees it on the InferenceService, on a real
apiserver: the test writes the pod status the kubelet would (OOMKilled, restarted, running
again) and reads Ready and modelStatus."""

from __future__ import annotations

from typing import Any

import pytest
from controller_env import cond, isvc, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

OOM = {
    "exitCode": 137,
    "reason": "OOMKilled",
    "startedAt": "2026-01-01T00:00:00Z",
    "finishedAt": "2026-01-01T00:00:09Z",
}


async def _pod_of(admin: Kube, namespace: str, name: str) -> dict[str, Any]:
    """The pod the ReplicaSet would make from the predictor Deployment's template."""
    deploy = await wait_for(
        lambda: admin.get("Deployment", namespace, f"{name}-predictor"), what="deployment"
    )
    template = deploy["spec"]["template"]
    return await admin.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{name}-predictor-abc",
                "namespace": namespace,
                "labels": template["metadata"]["labels"],
            },
            "spec": template["spec"],
        }
    )


async def _kubelet_says(admin: Kube, pod: dict[str, Any], **statuses: Any) -> None:
    meta = pod["metadata"]
    await admin.request(
        "PATCH",
        f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
        body={"status": {"phase": "Running", **statuses}},
        content_type="application/merge-patch+json",
    )


def _status(name: str, image: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "imageID": "", "ready": False, **fields}


async def _failed_with(
    admin: Kube, namespace: str, name: str, needle: str
) -> dict[str, Any] | None:
    obj = await admin.get("InferenceService", namespace, name)
    ready = cond(obj, "Ready")
    if ready.get("reason") == "ModelLoadFailed" and needle in ready.get("message", ""):
        return obj
    return None


async def test_an_oom_killed_model_is_not_ready_and_says_its_limit(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    big = isvc("big", namespace)
    big["spec"]["predictor"]["model"]["resources"] = {
        "requests": {"memory": "128Mi"},
        "limits": {"memory": "256Mi"},
    }
    await admin.create(big)
    pod = await _pod_of(admin, namespace, "big")
    init_image = pod["spec"]["initContainers"][0]["image"]
    image = pod["spec"]["containers"][0]["image"]
    done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    await _kubelet_says(
        admin,
        pod,
        initContainerStatuses=[_status("storage-initializer", init_image, state=done)],
        containerStatuses=[
            _status(
                "kserve-container",
                image,
                restartCount=2,
                state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}},
                lastState={"terminated": OOM},
            )
        ],
    )
    got = await wait_for(
        lambda: _failed_with(admin, namespace, "big", "restarted 2 times"), what="OOMKilled"
    )
    message = (
        "container kserve-container was OOMKilled: it needs more than its memory limit 256Mi; "
        "restarted 2 times; raise resources.limits.memory of the InferenceService's predictor"
    )
    assert cond(got, "Ready")["status"] == "False"
    assert cond(got, "PredictorReady")["message"] == message
    info = got["status"]["modelStatus"]
    assert info["transitionStatus"] == "BlockedByFailedLoad"
    assert info["lastFailureInfo"]["exitCode"] == 137
    assert info["lastFailureInfo"]["message"] == message

    # Restarted once more and loading again: still Ready=False with the reason, and the
    # count follows the kubelet's.
    await _kubelet_says(
        admin,
        pod,
        containerStatuses=[
            _status(
                "kserve-container",
                image,
                restartCount=3,
                state={"running": {"startedAt": "2026-01-01T00:00:30Z"}},
                lastState={"terminated": OOM},
            )
        ],
    )
    got = await wait_for(
        lambda: _failed_with(admin, namespace, "big", "restarted 3 times"), what="restart 3"
    )
    assert cond(got, "Ready")["status"] == "False"


async def test_an_oom_killed_storage_initializer_says_its_limit(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    await start_controller()
    await admin.create(isvc("fat-download", namespace))
    pod = await _pod_of(admin, namespace, "fat-download")
    init = pod["spec"]["initContainers"][0]
    limit = init["resources"]["limits"]["memory"]
    await _kubelet_says(
        admin,
        pod,
        initContainerStatuses=[
            _status(
                "storage-initializer",
                init["image"],
                restartCount=1,
                state={"waiting": {"reason": "CrashLoopBackOff"}},
                lastState={"terminated": OOM},
            )
        ],
    )
    got = await wait_for(
        lambda: _failed_with(admin, namespace, "fat-download", "storage-initializer"),
        what="initializer OOMKilled",
    )
    assert cond(got, "PredictorReady")["message"] == (
        f"container storage-initializer was OOMKilled: it needs more than its memory limit "
        f"{limit}; restarted 1 time; raise storageInitializer.memoryLimit in the "
        "inferenceservice-config ConfigMap (chart value kserve.storage.memoryLimit)"
    )
