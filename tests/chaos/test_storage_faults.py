"""Scenario 6: storage failing mid-download.

The fault store (chaos_faults.py) answers the storage initializer's first five GETs with 503
(its whole retry budget), then cuts one body short (retried at once), then serves a truncated
archive as if whole (refused when unpacking); then it serves the model. Between the failed runs
the kubelet restarts the init container with its back-off. The InferenceService must say why
while it fails (Ready=False, ModelLoadFailed, the initializer's reason), serve once the store
recovers, and never load a partial model: the model server starts once, after a whole download,
and finds nothing in /mnt/models but the model.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from chaos_cluster import IRIS_BODY, IsvcFactory, iris_check
from chaos_faults import FaultStore
from chaos_load import steady
from chaos_results import ResultsFile
from e2e_kube import condition, wait_for

SCENARIO = 6  # CHAOS_SCENARIOS selects by this number (conftest)
RETRIES = 5  # the initializer's default STORAGE_RETRIES
FAULTS = ["503"] * RETRIES + ["cut", "truncated"]
# apply -> Ready: ~8 s of retries, the kubelet's 10 s and 20 s back-offs, the model's load
READY_WITHIN = 240.0
PATH = "faulty/model.tar.gz"


def _ready(obj: dict[str, Any]) -> tuple[str, str, str]:
    ready = condition(obj, "Ready")
    return ready.get("status", ""), ready.get("reason", ""), ready.get("message", "")


@pytest.mark.short
def test_storage_failing_mid_download(
    isvc_factory: IsvcFactory, fault_store: FaultStore, results: ResultsFile
) -> None:
    fault_store.script(FAULTS)
    t0 = time.monotonic()
    isvc = isvc_factory("storagefault", storage_uri=fault_store.uri(PATH), replicas=1, wait=False)
    trail: list[tuple[float, tuple[str, str, str]]] = []  # each new Ready, when first seen

    def ready() -> bool:
        state = _ready(isvc.get())
        if not trail or trail[-1][1] != state:
            trail.append((time.monotonic() - t0, state))
        return state[0] == "True"

    wait_for("Ready through the storage faults", ready, timeout=READY_WITHIN, every=0.5)
    shown = "\n".join(f"  {at:5.1f} s  {state}" for at, state in trail)
    print(f"Ready over time:\n{shown}")
    failed = [(at, msg) for at, (status, reason, msg) in trail if reason == "ModelLoadFailed"]
    unavailable = next(i for i, (_, m) in enumerate(failed) if "HTTP 503" in m)
    unpack = next(i for i, (_, m) in enumerate(failed) if "cannot unpack model.tar.gz" in m)
    assert unavailable < unpack, failed
    assert f"gave up after {RETRIES} attempts" in failed[unavailable][1]
    assert "not a valid archive" in failed[unpack][1]

    # The store served exactly the faults, then the model once.
    served = fault_store.report()["served"]
    assert served == [[f"/{PATH}", fault] for fault in [*FAULTS, "ok"]], served
    # No partial model: the server started once, after the third run of the initializer, and
    # /mnt/models holds the model and nothing else (no staging left-overs).
    [pod] = isvc.pods()
    [init] = pod["status"]["initContainerStatuses"]
    [main] = [s for s in pod["status"]["containerStatuses"] if s["name"] == "kserve-container"]
    assert (init["restartCount"], main["restartCount"]) == (2, 0)
    listing = isvc.cli.kubectl(
        "exec", pod["metadata"]["name"], "-n", isvc.namespace, "-c", "kserve-container", "--",
        "python3", "-c", "import json, os; print(json.dumps(sorted(os.listdir('/mnt/models'))))",
        echo=False,
    )  # fmt: skip
    assert json.loads(listing) == ["model.joblib"]

    with steady(isvc.predict_url(), body=IRIS_BODY, rate=20, workers=4, check=iris_check) as load:
        time.sleep(5)
    ready_at = trail[-1][0]
    # recovery here: from the last failure the status reported to Ready
    summary = dataclasses.replace(load.summary(), recovery=ready_at - failed[-1][0])
    notes = (
        f"{RETRIES}x 503, a cut body, a truncated tar.gz; Ready=False (ModelLoadFailed) with "
        f"the 503 after {failed[unavailable][0]:.0f} s, with the unpack error after "
        f"{failed[unpack][0]:.0f} s, Ready after {ready_at:.0f} s; model server started once; "
        "load afterwards"
    )
    results.add("6. storage failing mid-download", summary, notes=notes)
    print(notes)
    assert summary.failed == 0, summary.failures()
