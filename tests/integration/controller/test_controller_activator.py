"""Scale to zero and back on a real apiserver with both charts installed: the controller puts
the activator in front of a keda component with minReplicas 0 (an ExternalName Service, the
Ingress's backend, the ScaledObject's metrics-api trigger) and takes it away at minReplicas 1;
the activator, with the chart's service account and nothing more, lists and watches those
Services and routes the InferenceService's hosts by them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from controller_env import NAMESPACE, Installed, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube
from kserve_server.activator import kube as activator_kube
from kserve_server.activator.routes import Table

pytestmark = pytest.mark.integration

CLASS = "serving.kserve.io/autoscalerClass"
IDLE = "serving.kserve.io/scale-to-zero-idle-seconds"
HOST_OF_CHART = f"kserve-activator.{NAMESPACE}.svc.cluster.local"


def sleepy(name: str, ns: str, **predictor: Any) -> dict[str, Any]:
    obj = isvc(name, ns, minReplicas=0, **predictor)
    obj["metadata"]["annotations"] = {CLASS: "keda", IDLE: "45"}
    return obj


def backends(ingress: dict[str, Any]) -> set[str]:
    return {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }


async def test_min_zero_gets_the_activator_in_front_and_min_one_takes_it_away(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns, name = namespace, "az-predictor"
    installed.apiserver.install_keda_crds()
    await start_controller(watch_namespaces=ns)
    await admin.create(sleepy("az", ns))
    front = await wait_for(lambda: admin.get("Service", ns, f"{name}-activator"), what="front")
    assert front["spec"]["type"] == "ExternalName"
    assert front["spec"]["externalName"] == HOST_OF_CHART
    annotations = front["metadata"]["annotations"]
    assert annotations["internal.serving.kserve.io/activator-target"] == name
    assert f"az-{ns}.example.com" in annotations["internal.serving.kserve.io/activator-hosts"]
    await wait_for(lambda: admin.get("Deployment", ns, name), what="Deployment")
    await make_available(admin, ns, name)  # as the deployment controller would (0 or 1 pod)
    ingress = await wait_for(lambda: admin.get("Ingress", ns, "az"), what="Ingress")
    assert backends(ingress) == {f"{name}-activator"}
    scaled = await wait_for(lambda: admin.get("ScaledObject", ns, name), what="ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "metrics-api"
    assert trigger["metadata"]["url"] == f"http://{HOST_OF_CHART}:9091/load/{ns}/{name}"
    assert (scaled["spec"]["cooldownPeriod"], scaled["spec"]["pollingInterval"]) == (45, 1)

    await admin.patch("InferenceService", ns, "az", {"spec": {"predictor": {"minReplicas": 1}}})

    async def direct() -> bool:
        found = await admin.get("Ingress", ns, "az")
        return found is not None and backends(found) == {name}

    await wait_for(direct, what="the Ingress straight to the predictor")
    await wait_for(
        lambda: _absent(admin, ns, f"{name}-activator"), what="the activator Service deleted"
    )


async def _absent(admin: Kube, ns: str, name: str) -> bool:
    return await admin.get("Service", ns, name) is None


async def test_the_activator_routes_by_the_services_with_the_charts_rights_only(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str, tmp_path: Path
) -> None:
    ns, name = namespace, "ar-predictor"
    installed.apiserver.install_keda_crds()
    await start_controller(watch_namespaces=ns)
    api = installed.apiserver
    token = tmp_path / "token"
    token.write_text(api.service_account_token(NAMESPACE, "kserve-activator"))
    access = activator_kube.Access(url=api.url, token_file=token, ca_file=Path(api.ca_file))
    table, synced = Table(), asyncio.Event()
    async with aiohttp.ClientSession() as session:
        services = activator_kube.Services(access, session)
        follower = asyncio.create_task(activator_kube.follow(services, table, synced))
        try:
            await asyncio.wait_for(synced.wait(), 30)
            await admin.create(sleepy("ar", ns))  # after the list: the watch brings it

            async def routed() -> bool:
                return table.lookup(f"ar-{ns}.example.com") is not None

            await wait_for(routed, what="the activator routing the host")
            route = table.lookup(f"ar-predictor-{ns}.example.com")
            assert route is not None
            assert (route.namespace, route.service) == (ns, name)
            assert route.upstream == f"http://{name}.{ns}.svc.cluster.local:80"
            assert table.lookup(f"{name}-activator.{ns}.svc") == route

            # minReplicas 1: the controller deletes the Service; the watch forgets the route
            patch = {"spec": {"predictor": {"minReplicas": 1}}}
            await admin.patch("InferenceService", ns, "ar", patch)

            async def forgotten() -> bool:
                return table.lookup(f"{name}-activator.{ns}") is None

            await wait_for(forgotten, what="the route forgotten")
            assert len(table) == 0
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)


async def test_the_activator_may_not_read_anything_else(
    installed: Installed, tmp_path: Path
) -> None:
    api = installed.apiserver
    token = api.service_account_token(NAMESPACE, "kserve-activator")
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {token}"}
        ssl = activator_kube.Access(api.url, tmp_path, Path(api.ca_file)).ssl_context()
        for path in ("/api/v1/secrets", "/api/v1/pods", "/api/v1/namespaces/kserve/services/x"):
            async with session.get(api.url + path, headers=headers, ssl=ssl) as resp:
                assert resp.status == 403, path
