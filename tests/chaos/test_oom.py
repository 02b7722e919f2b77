"""Scenario 7: a model bigger than its memory limit.

The model's load allocates BALLAST_MIB (chaos_faults.oversized_model) under a LIMIT well below
it: the kernel kills the server (OOMKilled) and the kubelet restarts it, again and again. What
the user must see is not a silent crash loop: Ready=False with the reason, which container, its
limit and how many restarts, kept while the loop goes on; and once the spec is fixed (here a
model that fits), the InferenceService serves.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from chaos_cluster import IRIS_BODY, IsvcFactory, ModelStore, iris_check
from chaos_faults import BALLAST_MIB, FaultStore
from chaos_load import steady
from chaos_results import ResultsFile
from e2e_kube import condition, wait_for

SCENARIO = 7  # CHAOS_SCENARIOS selects by this number (conftest)
LIMIT = "384Mi"
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": LIMIT}}
SAID_WITHIN = 120.0  # apply -> first OOM kill reported (image cached, model loads in seconds)
MESSAGE = (
    f"container kserve-container was OOMKilled: it needs more than its memory limit {LIMIT}; "
    "restarted {n}; raise resources.limits.memory of the InferenceService's predictor"
)


def _said(isvc: Any, restarts: int) -> dict[str, Any] | None:
    """The InferenceService when Ready=False says OOMKilled after `restarts` or more."""
    obj = isvc.get()
    ready = condition(obj, "Ready")
    message = ready.get("message", "")
    if ready.get("status") != "False" or ready.get("reason") != "ModelLoadFailed":
        return None
    if "OOMKilled" not in message or "restarted" not in message:
        return None
    count = int(message.split("restarted ", 1)[1].split(" ", 1)[0])
    return obj if count >= restarts else None


@pytest.mark.short
def test_a_model_bigger_than_its_memory_limit(
    isvc_factory: IsvcFactory,
    fault_store: FaultStore,
    model_store: ModelStore,
    results: ResultsFile,
) -> None:
    model = {"modelFormat": {"name": "sklearn"}, "resources": RESOURCES}
    isvc = isvc_factory(
        "oom",
        replicas=1,
        predictor={"model": {**model, "storageUri": fault_store.uri("big/model.joblib")}},
        wait=False,
    )
    t0 = time.monotonic()
    first = wait_for(
        "Ready=False, OOMKilled", lambda: _said(isvc, 1), timeout=SAID_WITHIN, every=0.5
    )
    said_after = time.monotonic() - t0
    message = condition(first, "Ready")["message"]
    restarts = int(message.split("restarted ", 1)[1].split(" ", 1)[0])
    plural = "time" if restarts == 1 else "times"
    assert message == MESSAGE.format(n=f"{restarts} {plural}")
    info = first["status"]["modelStatus"]
    assert info["transitionStatus"] == "BlockedByFailedLoad"
    assert info["lastFailureInfo"]["exitCode"] == 137
    assert condition(first, "PredictorReady")["message"] == message
    # The loop goes on and the status follows it, between kills too (loading again).
    again = wait_for(
        "a later restart reported",
        lambda: _said(isvc, restarts + 1),
        timeout=SAID_WITHIN,
        every=0.5,
    )
    assert "OOMKilled" in condition(again, "Ready")["message"]
    [pod] = isvc.pods()
    [main] = [s for s in pod["status"]["containerStatuses"] if s["name"] == "kserve-container"]
    assert main["lastState"]["terminated"]["reason"] == "OOMKilled"

    # Fixed by the user (a model that fits the limit): serves.
    fixed_at = time.monotonic()
    isvc.patch({"predictor": {"model": {**model, "storageUri": model_store.uri("iris-a")}}})
    isvc.wait_ready()
    fixed_after = time.monotonic() - fixed_at
    with steady(isvc.predict_url(), body=IRIS_BODY, rate=20, workers=4, check=iris_check) as load:
        time.sleep(5)
    # recovery here: from the user's fix to Ready (the load runs once it is Ready)
    summary = dataclasses.replace(load.summary(), recovery=fixed_after)
    notes = (
        f"{BALLAST_MIB} MiB model under a {LIMIT} limit: Ready=False (ModelLoadFailed, "
        f"OOMKilled, limit and restarts in the message) {said_after:.0f} s after apply, "
        f"updated on each restart; with a model that fits, Ready {fixed_after:.0f} s after "
        "the edit; load afterwards"
    )
    results.add("7. a model bigger than its memory limit", summary, notes=notes)
    print(notes)
    assert summary.failed == 0, summary.failures()
