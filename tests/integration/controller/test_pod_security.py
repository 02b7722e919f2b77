"""Every pod we create passes Pod Security Standards "restricted": the apiserver's own
PodSecurity admission (on by default) judges a Pod made from each Deployment's pod template,
dry-run, in a namespace that enforces "restricted". The predictor on the chart's runtime
(with its storage initializer), a custom transformer, explainer and predictor that set no
securityContext, the logger's agent sidecar, a canary, an InferenceGraph's router and the
chart's own controller Deployment. Our own processes (model server, storage initializer, the
logger's agent, router, controller) run on a read-only root filesystem with a writable /tmp."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from controller_env import NAMESPACE, isvc, make_available, wait_for

from kserve_controller.kube import errors
from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
CUSTOM = {"name": "kserve-container", "image": "example.test/server:1.0"}  # no securityContext


async def admitted(admin: Kube, ns: str, deployment: dict[str, Any]) -> dict[str, Any]:
    """A Pod from `deployment`'s template created with dryRun=All in `ns` (raises Forbidden
    when PodSecurity refuses it)."""
    template = deployment["spec"]["template"]
    name = deployment["metadata"]["name"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-check", "namespace": ns, **_labels(template)},
        "spec": template["spec"],
    }
    query = {"dryRun": "All"}
    return await admin.request("POST", f"/api/v1/namespaces/{ns}/pods", query=query, body=pod)


def _labels(template: dict[str, Any]) -> dict[str, Any]:
    labels = (template.get("metadata") or {}).get("labels")
    return {"labels": labels} if labels else {}


@pytest.fixture
async def restricted(admin: Kube) -> str:
    ns = f"restricted-{uuid.uuid4().hex[:8]}"
    await admin.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": RESTRICTED}}
    )
    return ns


async def test_the_restricted_namespace_refuses_a_privileged_pod(
    admin: Kube, restricted: str
) -> None:
    pod = {
        "metadata": {"name": "privileged"},
        "spec": {
            "template": {
                "spec": {"containers": [{**CUSTOM, "securityContext": {"privileged": True}}]}
            }
        },
    }
    with pytest.raises(errors.Forbidden) as refused:
        await admitted(admin, restricted, pod)
    assert 'violates PodSecurity "restricted:latest"' in refused.value.message
    assert "privileged" in refused.value.message


async def test_every_pod_we_create_is_admitted_under_restricted(
    start_controller: Any, admin: Kube, namespace: str, restricted: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    runtime = isvc("runtime", ns)
    runtime["spec"]["canary"] = [
        {"trafficPercent": 20, "predictor": {"name": "v2", **runtime["spec"]["predictor"]}}
    ]
    runtime["spec"]["transformer"] = {"containers": [CUSTOM]}
    runtime["spec"]["explainer"] = {"containers": [CUSTOM]}
    custom = isvc("custom", ns)
    custom["spec"]["predictor"] = {"containers": [CUSTOM], "logger": {"mode": "all"}}
    graph = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "InferenceGraph",
        "metadata": {"name": "graph", "namespace": ns},
        "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [
            {"serviceName": "runtime"}]}}},
    }  # fmt: skip
    for body in (runtime, custom, graph):
        await admin.create(body)

    names = ["runtime-predictor", "runtime-transformer", "runtime-explainer"]
    names.append("runtime-v2-predictor")
    names.append("custom-predictor")
    deployments = {}
    for name in names:
        deployments[name] = await wait_for(
            lambda n=name: admin.get("Deployment", ns, n), what=f"Deployment {name}"
        )
    await make_available(admin, ns, "runtime-predictor")  # the graph waits for its step
    await make_available(admin, ns, "runtime-transformer")
    deployments["graph"] = await wait_for(
        lambda: admin.get("Deployment", ns, "graph"), what="the graph's router"
    )
    deployments["controller"] = await admin.get(
        "Deployment", NAMESPACE, "kserve-controller-manager"
    )

    pods = deployments["runtime-predictor"]["spec"]["template"]["spec"]
    assert [c["name"] for c in pods["initContainers"]] == ["storage-initializer"]
    custom_pod = deployments["custom-predictor"]["spec"]["template"]["spec"]
    assert [c["name"] for c in custom_pod["containers"]] == ["kserve-container", "agent"]
    ours = [
        *pods["initContainers"],
        pods["containers"][0],  # the chart's runtime: our model server
        custom_pod["containers"][1],  # the logger's agent beside a custom container
        *deployments["graph"]["spec"]["template"]["spec"]["containers"],
        *deployments["controller"]["spec"]["template"]["spec"]["containers"],
    ]
    assert [c["name"] for c in ours] == [
        "storage-initializer", "kserve-container", "agent", "graph", "kserve-controller"
    ]  # fmt: skip
    for container in ours:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]
        # each with a writable /tmp (an emptyDir)
        assert "/tmp" in [m["mountPath"] for m in container["volumeMounts"]], container["name"]
    # a custom container that says nothing may write anywhere (as upstream's may)
    assert "readOnlyRootFilesystem" not in custom_pod["containers"][0]["securityContext"]
    for name, deployment in deployments.items():
        assert deployment is not None, name
        pod = await admitted(admin, restricted, deployment)
        assert pod["metadata"]["namespace"] == restricted, name
