"""The pinned kube-apiserver accepts the predictor's graceful stop as the controller builds it:
a preStop `sleep` on each container (no binary in the image) and a grace period covering it,
also when the user's own grace period is shorter than the pause (the API refuses a pause
longer than the grace period)."""

from __future__ import annotations

from typing import Any

import pytest
from controller_env import isvc, wait_for

from kserve_controller.build import termination
from kserve_controller.kube import errors
from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration


async def dry_run_pod(admin: Kube, ns: str, deployment: dict[str, Any]) -> dict[str, Any]:
    """A Pod from the Deployment's template, created with dryRun=All: the API validates it."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{deployment['metadata']['name']}-check", "namespace": ns},
        "spec": deployment["spec"]["template"]["spec"],
    }
    return await admin.request(
        "POST", f"/api/v1/namespaces/{ns}/pods", query={"dryRun": "All"}, body=pod
    )


async def test_predictor_pods_pause_before_sigterm_within_their_grace_period(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    await admin.create(isvc("default-grace", ns))
    await admin.create(isvc("short-grace", ns, terminationGracePeriodSeconds=2))
    pods = {}
    for name, grace, pause in (("default-grace", 35, 5), ("short-grace", 2, 2)):
        deployment = await wait_for(
            lambda n=name: admin.get("Deployment", ns, f"{n}-predictor"), what=name
        )
        assert deployment is not None
        spec = deployment["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] == grace
        hook = spec["containers"][0]["lifecycle"]["preStop"]
        assert hook == {"sleep": {"seconds": pause}}
        pods[name] = await dry_run_pod(admin, ns, deployment)
    assert pods["default-grace"]["spec"]["terminationGracePeriodSeconds"] == (
        termination.GRACE_SECONDS
    )


async def test_the_api_refuses_a_pause_longer_than_the_grace_period(
    admin: Kube, namespace: str
) -> None:
    # why graceful() shortens the pause to the user's grace period
    container = {"name": "c", "image": "example.test/c:1",
                 "lifecycle": {"preStop": {"sleep": {"seconds": 5}}}}  # fmt: skip
    deployment = {
        "metadata": {"name": "too-long"},
        "spec": {"template": {"spec": {"containers": [container],
                                       "terminationGracePeriodSeconds": 2}}},
    }  # fmt: skip
    with pytest.raises(errors.Invalid) as refused:
        await dry_run_pod(admin, namespace, deployment)
    assert "sleep" in str(refused.value.message)
