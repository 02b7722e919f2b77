"""Scenario 1: rolling updates under steady load lose no request.

An sklearn InferenceService with 2 replicas takes a new storageUri (another model file), then a
new runtimeVersion (another image tag), while paced load runs against its predictor's Service.
Each rollout is upstream's default (maxSurge 25 % -> 1 pod, maxUnavailable 25 % -> 0 pods at 2
replicas): a new pod is Ready only once its model is loaded; an old pod leaves the Service's
endpoints while it still serves (its preStop pause), then drains what is in flight on SIGTERM.
"""

from __future__ import annotations

import time

import pytest
from chaos_cluster import IRIS_BODY, IsvcFactory, ModelStore, iris_check
from chaos_load import steady
from chaos_results import ResultsFile

SCENARIO = 1  # CHAOS_SCENARIOS selects by this number (conftest)
RATE = 60  # requests a second (the hand measurement before: 3,843 in 60 s)
WARM_UP = 5.0  # seconds of load before the first change: the "before" latencies
SETTLE = 5.0  # seconds of load after the last old pod is gone


@pytest.mark.short
def test_rolling_updates_under_load_lose_no_request(
    isvc_factory: IsvcFactory, model_store: ModelStore, runtime_version: str, results: ResultsFile
) -> None:
    isvc = isvc_factory("rollout", storage_uri=model_store.uri("iris-a"), replicas=2)
    strategy = isvc.deployment()["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    t0 = time.monotonic()
    with steady(isvc.predict_url(), body=IRIS_BODY, rate=RATE, check=iris_check) as load:
        time.sleep(WARM_UP)
        generation = isvc.deployment()["metadata"]["generation"]
        load.mark("storageUri")
        isvc.patch({"predictor": {"model": {"storageUri": model_store.uri("iris-b")}}})
        isvc.wait_rolled_out(after_generation=generation)
        generation = isvc.deployment()["metadata"]["generation"]
        load.mark("runtimeVersion")
        isvc.patch({"predictor": {"model": {"runtimeVersion": runtime_version}}})
        isvc.wait_rolled_out(after_generation=generation)
        load.mark("done")
        time.sleep(SETTLE)
    summary = load.summary(fault="storageUri")
    marks = load.recorder.marks
    image = isvc.deployment()["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(f":{runtime_version}"), image
    notes = (
        f"2 replicas, {RATE} req/s; storageUri rollout "
        f"{marks['runtimeVersion'] - marks['storageUri']:.0f} s, runtimeVersion rollout "
        f"{marks['done'] - marks['runtimeVersion']:.0f} s; run {time.monotonic() - t0:.0f} s"
    )
    results.add("1. rolling update (storageUri, then runtimeVersion)", summary, notes=notes)
    print(f"rollouts under load: {summary.total} requests, failures: {summary.failures()}")
    assert summary.total > RATE * WARM_UP
    assert summary.failed == 0, summary.failures()
