"""Runs inside the upstream `kserve` SDK's own venv (hack/kserve-sdk-venv.sh), never ours.

    python kserve_sdk_isvc_driver.py KUBECONFIG NAMESPACE NAME

drives an InferenceService's life with the SDK's KServeClient as its documentation does
(create → wait_isvc_ready → get → patch → delete) and prints one JSON object of what it saw,
for test_controller_kserve_sdk.py to assert on. A step that fails is recorded, not raised, so
the test names the step.
"""

import json
import sys
import time

from kserve import (
    KServeClient,
    V1beta1InferenceService,
    V1beta1InferenceServiceSpec,
    V1beta1ModelFormat,
    V1beta1ModelSpec,
    V1beta1PredictorSpec,
    constants,
)
from kubernetes import client

FIRST = "gs://kfserving-examples/models/sklearn/1.0/model"
SECOND = "gs://kfserving-examples/models/sklearn/1.0/model-2"


def inference_service(name: str, namespace: str, *, storage_uri: str) -> V1beta1InferenceService:
    return V1beta1InferenceService(
        api_version=constants.KSERVE_V1BETA1,
        kind=constants.KSERVE_KIND_INFERENCESERVICE,
        metadata=client.V1ObjectMeta(name=name, namespace=namespace),
        spec=V1beta1InferenceServiceSpec(
            predictor=V1beta1PredictorSpec(
                model=V1beta1ModelSpec(
                    model_format=V1beta1ModelFormat(name="sklearn"), storage_uri=storage_uri
                )
            )
        ),
    )


def wait_deployment_uri(kserve: KServeClient, namespace: str, name: str, uri: str) -> bool:
    """Whether the controller rolls the patch out to the predictor's Deployment within 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        deployment = kserve.app_api.read_namespaced_deployment(f"{name}-predictor", namespace)
        if uri in json.dumps(client.ApiClient().sanitize_for_serialization(deployment)):
            return True
        time.sleep(0.2)
    return False


def main(kubeconfig: str, namespace: str, name: str) -> dict:
    out: dict = {}
    kserve = KServeClient(config_file=kubeconfig)
    sent = client.ApiClient().sanitize_for_serialization(
        inference_service(name, namespace, storage_uri=FIRST)
    )
    out["sent_model"] = sent["spec"]["predictor"]["model"]
    try:
        created = kserve.create(inference_service(name, namespace, storage_uri=FIRST))
        out["created_uid"] = created["metadata"]["uid"]
        print("created", flush=True, file=sys.stderr)
        kserve.wait_isvc_ready(name, namespace=namespace, timeout_seconds=120, polling_interval=1)
        got = kserve.get(name, namespace=namespace)
        out["ready"] = kserve.is_isvc_ready(name, namespace=namespace)
        out["url"] = got["status"].get("url")
        patched = kserve.patch(name, inference_service(name, namespace, storage_uri=SECOND))
        out["patched_uri"] = patched["spec"]["predictor"]["model"]["storageUri"]
        out["patched_generation"] = patched["metadata"]["generation"]
        out["deployment_follows_patch"] = wait_deployment_uri(kserve, namespace, name, SECOND)
        kserve.delete(name, namespace=namespace)
        out["deleted"] = True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                kserve.get(name, namespace=namespace)
            except RuntimeError as err:  # the SDK wraps the 404
                out["get_after_delete"] = "(404)" in str(err) or "Not Found" in str(err)
                break
            time.sleep(0.2)
    except Exception as err:  # the test names the step that failed
        out["error"] = f"{type(err).__name__}: {err}"[:4000]
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
