"""After the demos: a model that cannot be downloaded, and deleting an InferenceService."""

from __future__ import annotations

import time

from e2e_kube import Cli, condition, diagnose, rel, wait_for
from e2e_steps import FIXTURES, Applied, Install
from e2e_timeline import Timeline

CHILDREN = ("deployment", "service", "hpa")


def test_bad_storage_uri_reports_the_download_failure(
    cli: Cli, kserve: Install, iris: Applied, timeline: Timeline
) -> None:
    t0 = time.monotonic()
    cli.kubectl("apply", "-f", rel(FIXTURES / "bad-storage-uri.yaml"))

    def failed() -> dict[str, str] | None:
        isvc = cli.json("get", "inferenceservice", "sklearn-missing", "-n", "ml")
        ready = condition(isvc, "Ready")
        if ready.get("status") == "False" and "does-not-exist" in ready.get("message", ""):
            return ready
        return None

    try:
        ready = wait_for("Ready=False naming the missing model", failed, timeout=120, every=2)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cli, 'ml')}") from err
    took = time.monotonic() - t0
    timeline.add("bad storageUri: kubectl apply -> Ready=False with the reason", took)
    print("Ready condition:", ready)
    cli.kubectl("describe", "inferenceservice", "sklearn-missing", "-n", "ml")
    cli.kubectl("delete", "-f", rel(FIXTURES / "bad-storage-uri.yaml"), "--wait")


def test_deleting_an_inference_service_collects_its_children(
    cli: Cli, iris: Applied, timeline: Timeline
) -> None:
    for kind in CHILDREN:
        cli.kubectl("get", kind, "sklearn-iris-predictor", "-n", "ml")
    t0 = time.monotonic()
    cli.kubectl("delete", "inferenceservice", "sklearn-iris", "-n", "ml")

    def gone() -> bool:
        return all(
            not cli.kubectl(
                "get", kind, "sklearn-iris-predictor", "-n", "ml", "--ignore-not-found"
            ).strip()
            for kind in CHILDREN
        )

    wait_for("Deployment, Service and HPA sklearn-iris-predictor to go", gone, timeout=120)
    timeline.add("kubectl delete isvc -> children garbage-collected", time.monotonic() - t0)
