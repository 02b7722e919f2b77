"""A pod's container statuses → the lastFailureInfo users read (pure).

The kubelet keeps restarting a container that fails; the status must say why on every pass of
that loop, not only in the seconds between a crash and the restart: a container running again
but not ready after a failure still reports that failure (upstream keeps it for the storage
initializer). An OOMKilled container leaves no message of its own, so the message names the
container, its memory limit and its restarts, and where the limit is raised.
"""

from __future__ import annotations

from typing import Any

from kserve_controller.build import names, storage_initializer

Obj = dict[str, Any]

# Waiting reasons of a container the kubelet cannot create as specified: no retry fixes them
# until the spec (or a Secret/ConfigMap it names) changes.
NEVER_STARTS = ("CreateContainerConfigError",)
OOM_KILLED = "OOMKilled"
# Where a container's memory limit is set, for the message.
RAISE_LIMIT = {
    storage_initializer.NAME: (
        "raise storageInitializer.memoryLimit in the inferenceservice-config ConfigMap "
        "(chart value kserve.storage.memoryLimit)"
    ),
}
RAISE_MODEL_LIMIT = "raise resources.limits.memory of the InferenceService's {component}"


def named(items: list[Obj] | None, name: str) -> Obj | None:
    """The container (or container status) called `name`."""
    return next((s for s in items or [] if s.get("name") == name), None)


def failure(pod: Obj, name: str, *, init: bool = False) -> Obj | None:
    """lastFailureInfo for container `name` of `pod` when it failed, crash-loops, runs again
    after a failure without being ready yet, or cannot be created at all; else None."""
    pod_status = pod.get("status") or {}
    key = "initContainerStatuses" if init else "containerStatuses"
    container = named(pod_status.get(key), name)
    if container is None:
        return None
    state = container.get("state") or {}
    waiting = state.get("waiting") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    terminated = state.get("terminated")
    if waiting.get("reason") == "CrashLoopBackOff":
        terminated = last
    elif waiting.get("reason") in NEVER_STARTS:
        terminated = {}  # the kubelet's message says why (e.g. a root image under runAsNonRoot)
    elif "running" in state and not container.get("ready") and _failed(last):
        terminated = last  # restarted after the failure, not through yet: still the news
    elif not _failed(terminated):
        return None
    assert terminated is not None
    if terminated.get("reason") == OOM_KILLED:
        message = oom_message(pod, container, init=init)
    else:
        message = (terminated.get("message") or waiting.get("message") or "").strip()
    info: Obj = {
        "location": pod["metadata"]["name"],
        "reason": "ModelLoadFailed",
        "message": message or f"container {name} failed",
    }
    if terminated.get("exitCode") is not None:
        info["exitCode"] = terminated["exitCode"]
    if terminated.get("finishedAt"):
        info["time"] = terminated["finishedAt"]
    return info


def oom_message(pod: Obj, container: Obj, *, init: bool) -> str:
    name = str(container.get("name"))
    specs = (pod.get("spec") or {}).get("initContainers" if init else "containers")
    limit = (((named(specs, name) or {}).get("resources") or {}).get("limits") or {}).get("memory")
    restarts = int(container.get("restartCount") or 0)
    head = f"container {name} was OOMKilled"
    head += f": it needs more than its memory limit {limit}" if limit else " (no memory limit)"
    if restarts:
        head += f"; restarted {restarts} time{'s' if restarts > 1 else ''}"
    component = (pod["metadata"].get("labels") or {}).get(names.COMPONENT_LABEL, "predictor")
    hint = RAISE_LIMIT.get(name) or RAISE_MODEL_LIMIT.format(component=component)
    return f"{head}; {hint}" if limit else head


def _failed(terminated: Obj | None) -> bool:
    return bool(terminated) and (terminated or {}).get("exitCode", 0) != 0
