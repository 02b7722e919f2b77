"""What a failing predictor pod puts in status: an OOMKilled model or storage initializer names
its container, memory limit and restarts; a restart after a failure keeps the failure."""

from __future__ import annotations

from typing import Any

from kserve_controller import config, pod_failure, spec, status
from kserve_controller.runtimes import Runtime

NOW = "2026-11-25T12:00:00Z"
UNAVAILABLE = {
    "metadata": {"name": "big-predictor"},
    "status": {"conditions": [{"type": "Available", "status": "False", "reason": "Minimum"}]},
}
OOM = {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-11-25T11:59:00Z"}
DONE = {"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}, "ready": True}


def isvc() -> spec.Isvc:
    return spec.parse(
        {
            "metadata": {"name": "big", "namespace": "ml", "uid": "u", "generation": 1},
            "spec": {
                "predictor": {
                    "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}
                }
            },
        }
    )


def pod(
    *, main: dict[str, Any] | None = None, init: dict[str, Any] | None = None
) -> dict[str, Any]:
    st: dict[str, Any] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
    st["initContainerStatuses"] = [{"name": "storage-initializer", **(init or DONE)}]
    if main is not None:
        st["containerStatuses"] = [{"name": "kserve-container", **main}]
    return {
        "metadata": {
            "name": "big-predictor-7d9-x2",
            "creationTimestamp": "2026-11-25T11:00:00Z",
            "labels": {"component": "predictor"},
        },
        "spec": {
            "initContainers": [
                {"name": "storage-initializer", "resources": {"limits": {"memory": "100Mi"}}}
            ],
            "containers": [
                {"name": "kserve-container", "resources": {"limits": {"memory": "256Mi"}}}
            ],
        },
        "status": st,
    }


def compute(*pods: dict[str, Any]) -> dict[str, Any]:
    return status.compute(
        isvc(),
        deployment=UNAVAILABLE,
        ingress_obj=None,
        pods=list(pods),
        runtime=Runtime(name="kserve-sklearnserver", kind="ClusterServingRuntime", spec={}),
        config=config.parse(None),
        now=NOW,
    )


def ready_condition(st: dict[str, Any]) -> tuple[str, str, str]:
    ready = status.condition(st, "Ready") or {}
    return ready.get("status", ""), ready.get("reason", ""), ready.get("message", "")


MODEL_OOM = (
    "container kserve-container was OOMKilled: it needs more than its memory limit 256Mi; "
    "restarted 3 times; raise resources.limits.memory of the InferenceService's predictor"
)


def test_an_oom_killed_model_says_so_with_its_limit_and_restarts() -> None:
    crash_loop = {
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
        "lastState": {"terminated": OOM},
        "restartCount": 3,
    }
    st = compute(pod(main=crash_loop))
    assert ready_condition(st) == ("False", "ModelLoadFailed", MODEL_OOM)
    assert status.condition(st, "PredictorReady")["message"] == MODEL_OOM  # type: ignore[index]
    info = st["modelStatus"]
    assert info["transitionStatus"] == "BlockedByFailedLoad"
    assert info["states"] == {"activeModelState": "Pending", "targetModelState": "FailedToLoad"}
    assert info["lastFailureInfo"] == {
        "location": "big-predictor-7d9-x2",
        "reason": "ModelLoadFailed",
        "message": MODEL_OOM,
        "exitCode": 137,
        "time": "2026-11-25T11:59:00Z",
    }
    assert info["copies"]["failedCopies"] == 1


def test_the_moment_of_the_kill_says_the_same() -> None:
    killed = {"state": {"terminated": OOM}, "restartCount": 3}
    assert ready_condition(compute(pod(main=killed))) == ("False", "ModelLoadFailed", MODEL_OOM)


def test_restarted_after_an_oom_kill_and_loading_again_still_says_why() -> None:
    # Between two kills the container runs (loading the model) for a while: the status must
    # not fall back to a silent "not available" every time.
    loading = {
        "state": {"running": {"startedAt": "2026-11-25T11:59:10Z"}},
        "lastState": {"terminated": OOM},
        "restartCount": 3,
        "ready": False,
    }
    assert ready_condition(compute(pod(main=loading))) == ("False", "ModelLoadFailed", MODEL_OOM)


def test_ready_again_after_an_earlier_failure_is_loaded() -> None:
    recovered = {
        "state": {"running": {}},
        "lastState": {"terminated": OOM},
        "restartCount": 1,
        "ready": True,
    }
    st = status.compute(
        isvc(),
        deployment={
            "metadata": {"name": "big-predictor"},
            "status": {"conditions": [{"type": "Available", "status": "True"}]},
        },
        ingress_obj={"metadata": {"name": "big"}},
        pods=[
            {
                **pod(main=recovered),
                "status": {
                    **pod(main=recovered)["status"],
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            }
        ],
        runtime=None,
        config=config.parse(None),
        now=NOW,
    )
    assert ready_condition(st)[0] == "True"
    assert "lastFailureInfo" not in st["modelStatus"]


def test_an_oom_killed_storage_initializer_names_its_own_limit() -> None:
    crash_loop = {
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": OOM},
        "restartCount": 1,
    }
    st = compute(pod(init=crash_loop, main={"state": {"waiting": {"reason": "PodInitializing"}}}))
    assert ready_condition(st) == (
        "False",
        "ModelLoadFailed",
        "container storage-initializer was OOMKilled: it needs more than its memory limit "
        "100Mi; restarted 1 time; raise storageInitializer.memoryLimit in the "
        "inferenceservice-config ConfigMap (chart value kserve.storage.memoryLimit)",
    )


def test_a_failed_download_retried_by_the_kubelet_keeps_its_reason() -> None:
    # The initializer runs again after giving up: still blocked, still saying why, while the
    # storage keeps failing (it turns Loading only on a first attempt).
    retrying = {
        "state": {"running": {}},
        "lastState": {
            "terminated": {"exitCode": 1, "reason": "Error", "message": "gs://b/m: HTTP 503\n"}
        },
        "restartCount": 2,
    }
    st = compute(pod(init=retrying, main={"state": {"waiting": {"reason": "PodInitializing"}}}))
    assert ready_condition(st) == ("False", "ModelLoadFailed", "gs://b/m: HTTP 503")
    assert st["modelStatus"]["states"]["targetModelState"] == "FailedToLoad"


def test_a_first_download_is_loading() -> None:
    first = {"state": {"running": {}}, "restartCount": 0}
    st = compute(pod(init=first, main={"state": {"waiting": {"reason": "PodInitializing"}}}))
    assert st["modelStatus"]["states"]["targetModelState"] == "Loading"


def test_without_a_memory_limit_the_message_says_there_is_none() -> None:
    killed = {"state": {"terminated": OOM}, "restartCount": 0}
    bare = pod(main=killed)
    bare["spec"]["containers"][0].pop("resources")
    info = pod_failure.failure(bare, "kserve-container")
    assert info is not None
    assert info["message"] == "container kserve-container was OOMKilled (no memory limit)"
