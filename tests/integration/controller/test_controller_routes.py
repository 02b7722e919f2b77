"""Traffic objects on a real apiserver: Gateway API HTTPRoutes (created, updated and removed
with the InferenceService, IngressReady following the route status the test writes as a
gateway would, missing CRDs and Gateway named), the Ingress's IngressAdmitted, and
spec.canary (objects appear, weights move toward ready canaries, promotion and rollback).

The controller's apiserver runs no controller-manager: a Deployment becomes Available when
the test says so (make_available), and nothing garbage-collects; removal is the controller's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from controller_env import Installed, cond, isvc, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

ROUTE_CRDS = ("httproutes.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io")
GATEWAY = ("kserve", "kserve-ingress-gateway")


@contextlib.asynccontextmanager
async def ingress_config(admin: Kube, **values: Any) -> AsyncIterator[None]:
    """The ConfigMap's `ingress` key with `values` laid over it, restored afterwards."""
    cm = await admin.get("ConfigMap", "kserve", "inferenceservice-config")
    assert cm is not None
    original = cm["data"]["ingress"]
    changed = json.dumps({**json.loads(original), **values})
    await admin.patch(
        "ConfigMap", "kserve", "inferenceservice-config", {"data": {"ingress": changed}}
    )
    try:
        yield
    finally:
        restore = {"data": {"ingress": original}}
        await admin.patch("ConfigMap", "kserve", "inferenceservice-config", restore)


async def write_route_status(
    admin: Kube, ns: str, name: str, *, accepted: str = "True", resolved: str = "True",
    reason: str = "", message: str = "",
) -> None:  # fmt: skip
    """What a gateway controller writes on an HTTPRoute attached to our Gateway."""
    route = await admin.get("HTTPRoute", ns, name)
    assert route is not None, f"HTTPRoute {name} missing"
    generation = route["metadata"]["generation"]
    now = "2026-01-01T00:00:00Z"

    def c(kind: str, state: str) -> dict[str, Any]:
        why = reason if state != "True" else kind
        return {
            "type": kind, "status": state, "reason": why or "Failed", "message": message,
            "observedGeneration": generation, "lastTransitionTime": now,
        }  # fmt: skip

    parent = {
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                      "namespace": GATEWAY[0], "name": GATEWAY[1]},
        "controllerName": "example.test/gateway",
        "conditions": [c("Accepted", accepted), c("ResolvedRefs", resolved)],
    }  # fmt: skip
    await admin.request(
        "PATCH",
        f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/{name}/status",
        body={"status": {"parents": [parent]}},
        content_type="application/merge-patch+json",
    )


async def ensure_gateway(admin: Kube) -> None:
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY[1], "namespace": GATEWAY[0]},
        "spec": {
            "gatewayClassName": "test",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    }
    if await admin.get("Gateway", *GATEWAY) is None:
        await admin.create(gateway)


def reason_is(
    admin: Kube, ns: str, name: str, kind: str, reason: str, *, predictor_ready: bool = False
) -> Any:
    """A probe: the InferenceService once condition `kind` has `reason` (and, when asked,
    PredictorReady is True: the pass that saw the Deployment available)."""

    async def probe() -> dict[str, Any] | None:
        obj = await admin.get("InferenceService", ns, name)
        if predictor_ready and cond(obj, "PredictorReady").get("status") != "True":
            return None
        return obj if cond(obj, kind).get("reason") == reason else None

    return probe


def backends(route: dict[str, Any] | None) -> list[tuple[str, int | None]]:
    rule = (route or {}).get("spec", {}).get("rules", [{}])[0]
    return [(b["name"], b.get("weight")) for b in rule.get("backendRefs") or []]


async def test_missing_gateway_api_crds_are_named_then_routes_follow_once_installed(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    for crd in ROUTE_CRDS:  # a cluster without the Gateway API, whatever ran before
        installed.apiserver.delete_crd(crd)
    async with ingress_config(admin, enableGatewayApi=True):
        await start_controller(watch_namespaces=ns)
        await admin.create(isvc("gw", ns))
        await wait_for(lambda: admin.get("Deployment", ns, "gw-predictor"), what="Deployment")
        await make_available(admin, ns, "gw-predictor")
        obj = await wait_for(
            reason_is(
                admin, ns, "gw", "IngressReady", "GatewayAPINotInstalled", predictor_ready=True
            ),
            what="IngressReady=False GatewayAPINotInstalled",
        )
        message = cond(obj, "IngressReady")["message"]
        assert "httproutes.gateway.networking.k8s.io" in message
        assert cond(obj, "PredictorReady")["status"] == "True"
        assert cond(obj, "Ready")["status"] == "False"
        assert await admin.get("Ingress", ns, "gw") is None

        installed.apiserver.install_gateway_api_crds()
        # No event says the CRDs came: the controller looks again by itself.
        await wait_for(lambda: admin.get("HTTPRoute", ns, "gw"), what="HTTPRoute", timeout=60)
        obj = await wait_for(
            reason_is(admin, ns, "gw", "IngressReady", "GatewayNotFound"),
            what="IngressReady=False GatewayNotFound",
        )
        assert "kserve/kserve-ingress-gateway" in cond(obj, "IngressReady")["message"]


async def test_routes_follow_the_isvc_and_ingress_ready_follows_route_status(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    installed.apiserver.install_gateway_api_crds()
    await ensure_gateway(admin)
    async with ingress_config(admin, enableGatewayApi=True):
        await start_controller(watch_namespaces=ns)
        await admin.create(isvc("iris", ns))
        await wait_for(lambda: admin.get("Deployment", ns, "iris-predictor"), what="Deployment")
        # Held until the predictor is ready, as upstream.
        await wait_for(
            reason_is(admin, ns, "iris", "IngressReady", "Predictor ingress not created"),
            what="routes held",
        )
        assert await admin.get("HTTPRoute", ns, "iris") is None
        await make_available(admin, ns, "iris-predictor")
        for name in ("iris-predictor", "iris"):
            route = await wait_for(lambda n=name: admin.get("HTTPRoute", ns, n), what=name)
            owner = route["metadata"]["ownerReferences"][0]
            assert (owner["kind"], owner["name"], owner["controller"]) == (
                "InferenceService", "iris", True,
            )  # fmt: skip
            assert route["spec"]["parentRefs"][0]["name"] == GATEWAY[1]
            assert backends(route) == [("iris-predictor", 1)]  # weight: the CRD's default
        top = await admin.get("HTTPRoute", ns, "iris")
        assert top is not None and top["spec"]["hostnames"] == [f"iris-{ns}.example.com"]
        await wait_for(
            reason_is(admin, ns, "iris", "IngressReady", "ParentStatusNotAvailable"),
            what="waiting for the gateway's status",
        )

        # The gateway accepts both routes: IngressReady, then Ready.
        await write_route_status(admin, ns, "iris-predictor")
        await write_route_status(admin, ns, "iris")

        async def ready() -> dict[str, Any] | None:
            obj = await admin.get("InferenceService", ns, "iris")
            return obj if cond(obj, "Ready").get("status") == "True" else None

        obj = await wait_for(ready, what="Ready=True")
        assert cond(obj, "IngressReady")["status"] == "True"
        assert obj["status"]["url"] == f"http://iris-{ns}.example.com"

        # A backend the gateway cannot resolve: IngressReady says the gateway's reason.
        await write_route_status(
            admin, ns, "iris", resolved="False", reason="BackendNotFound",
            message="Service iris-predictor not found",
        )  # fmt: skip
        obj = await wait_for(
            reason_is(admin, ns, "iris", "IngressReady", "BackendNotFound"), what="BackendNotFound"
        )
        assert "Service iris-predictor not found" in cond(obj, "IngressReady")["message"]
        assert cond(obj, "Ready")["status"] == "False"

        # Updated with the spec: the predictor's timeout goes into the rules.
        await admin.patch("InferenceService", ns, "iris", {"spec": {"predictor": {"timeout": 90}}})

        async def timeout_90() -> bool:
            route = await admin.get("HTTPRoute", ns, "iris")
            return route["spec"]["rules"][0].get("timeouts", {}).get("request") == "90s"

        await wait_for(timeout_90, what="route updated with the timeout")

    # Back to an Ingress: the routes go, the Ingress comes (the ConfigMap was restored).
    async def routes_gone() -> bool:
        found = [await admin.get("HTTPRoute", ns, n) for n in ("iris", "iris-predictor")]
        return found == [None, None] and await admin.get("Ingress", ns, "iris") is not None

    await wait_for(routes_gone, what="HTTPRoutes deleted, Ingress created")


async def test_ingress_admitted_informs_without_gating_ready(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    await admin.create(isvc("plain", ns))
    await wait_for(lambda: admin.get("Deployment", ns, "plain-predictor"), what="Deployment")
    await make_available(admin, ns, "plain-predictor")

    async def ready() -> dict[str, Any] | None:
        obj = await admin.get("InferenceService", ns, "plain")
        return obj if cond(obj, "Ready").get("status") == "True" else None

    obj = await wait_for(ready, what="Ready=True without an ingress controller")
    admitted = cond(obj, "IngressAdmitted")
    assert (admitted["status"], admitted["reason"], admitted["severity"]) == (
        "Unknown", "NoLoadBalancerAddress", "Info",
    )  # fmt: skip
    assert cond(obj, "IngressReady")["status"] == "True"

    await admin.request(
        "PATCH",
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/plain/status",
        body={"status": {"loadBalancer": {"ingress": [{"ip": "10.250.0.1"}]}}},
        content_type="application/merge-patch+json",
    )
    obj = await wait_for(
        reason_is(admin, ns, "plain", "IngressAdmitted", "LoadBalancerAddress"), what="admitted"
    )
    assert cond(obj, "IngressAdmitted")["message"] == "10.250.0.1"


def with_canary(name: str, ns: str, *entries: tuple[str, int]) -> dict[str, Any]:
    obj = isvc(name, ns)
    model = obj["spec"]["predictor"]["model"]
    obj["spec"]["canary"] = [
        {"trafficPercent": pct, "predictor": {"name": sub, "model": {**model}}}
        for sub, pct in entries
    ]
    return obj


async def test_canary_weights_move_to_ready_canaries_then_promote_and_roll_back(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    installed.apiserver.install_gateway_api_crds()
    await ensure_gateway(admin)
    async with ingress_config(admin, enableGatewayApi=True):
        await start_controller(watch_namespaces=ns)
        await admin.create(with_canary("iris", ns, ("v2", 20)))
        for name in ("iris-predictor", "iris-v2-predictor"):
            await wait_for(lambda n=name: admin.get("Deployment", ns, n), what=name)
        canary = await admin.get("Deployment", ns, "iris-v2-predictor")
        assert canary is not None
        labels = canary["spec"]["template"]["metadata"]["labels"]
        assert labels["app"] == "isvc.iris-v2-predictor"
        assert await admin.get("Service", ns, "iris-v2-predictor") is not None
        await make_available(admin, ns, "iris-predictor")
        route = await wait_for(lambda: admin.get("HTTPRoute", ns, "iris"), what="route")
        assert backends(route) == [("iris-predictor", 1)]  # the canary is not ready: none
        obj = await wait_for(
            reason_is(admin, ns, "iris", "CanaryPredictorReady", "CanariesNotReady"),
            what="CanaryPredictorReady=False",
        )
        assert obj["status"]["canaryStatuses"] == [
            {"name": "v2", "ready": False, "trafficPercent": 0}
        ]

        await make_available(admin, ns, "iris-v2-predictor")

        async def split() -> bool:
            route = await admin.get("HTTPRoute", ns, "iris")
            return backends(route) == [("iris-predictor", 80), ("iris-v2-predictor", 20)]

        await wait_for(split, what="80/20 once the canary is ready")
        obj = await wait_for(
            reason_is(admin, ns, "iris", "CanaryPredictorReady", "AllCanariesReady"),
            what="CanaryPredictorReady=True",
        )

        async def routed() -> bool:
            obj = await admin.get("InferenceService", ns, "iris")
            statuses = obj["status"].get("canaryStatuses")
            return statuses == [{"name": "v2", "ready": True, "trafficPercent": 20}]

        await wait_for(routed, what="canaryStatuses: v2 ready, 20% routed")

        # Promote: the predictor takes the canary's name, the entry goes.
        await admin.patch(
            "InferenceService", ns, "iris",
            {"spec": {"predictor": {"name": "v2"}, "canary": None}},
        )  # fmt: skip

        async def promoted() -> bool:
            route = await admin.get("HTTPRoute", ns, "iris-predictor")
            old = await admin.get("Deployment", ns, "iris-predictor")
            return old is None and backends(route) == [("iris-v2-predictor", 1)]

        await wait_for(promoted, what="old predictor deleted, route on v2")
        assert await admin.get("Service", ns, "iris-predictor") is None
        assert await admin.get("Deployment", ns, "iris-v2-predictor") is not None
        obj = await admin.get("InferenceService", ns, "iris")
        assert "canaryStatuses" not in obj["status"]
        assert cond(obj, "CanaryPredictorReady") == {}

        # Roll back a new canary: remove its entry, its objects go.
        await admin.patch(
            "InferenceService", ns, "iris",
            {"spec": {"canary": [{"trafficPercent": 10, "predictor": {
                "name": "v3", "model": obj["spec"]["predictor"]["model"]}}]}},
        )  # fmt: skip
        await wait_for(lambda: admin.get("Deployment", ns, "iris-v3-predictor"), what="v3")
        await admin.patch("InferenceService", ns, "iris", {"spec": {"canary": None}})

        async def rolled_back() -> bool:
            gone = await admin.get("Deployment", ns, "iris-v3-predictor") is None
            return gone and await admin.get("Service", ns, "iris-v3-predictor") is None

        await wait_for(rolled_back, what="v3 deleted")
        assert await admin.get("Deployment", ns, "iris-v2-predictor") is not None


async def test_canary_without_gateway_api_says_the_split_needs_it(
    start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    await start_controller(watch_namespaces=ns)
    await admin.create(with_canary("plain", ns, ("v2", 30)))
    await wait_for(lambda: admin.get("Deployment", ns, "plain-v2-predictor"), what="canary")
    obj = await wait_for(
        reason_is(admin, ns, "plain", "CanaryTrafficSplit", "GatewayAPIRequired"),
        what="CanaryTrafficSplit=False",
    )
    split = cond(obj, "CanaryTrafficSplit")
    assert split["status"] == "False" and "enableGatewayApi" in split["message"]
    assert obj["status"]["canaryStatuses"][0]["trafficPercent"] == 0


async def rolled_out(admin: Kube, ns: str, name: str) -> None:
    """What the deployment controller writes once every replica runs the current template."""
    obj = await admin.get("Deployment", ns, name)
    assert obj is not None
    await make_available(admin, ns, name)
    generation = obj["metadata"]["generation"]
    await admin.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{ns}/deployments/{name}/status",
        body={"status": {"observedGeneration": generation}},
        content_type="application/merge-patch+json",
    )


def storage_uri(deployment: dict[str, Any] | None) -> str:
    init = deployment["spec"]["template"]["spec"]["initContainers"][0]  # type: ignore[index]
    return str(init["args"][0])


async def test_canary_traffic_percent_keeps_the_rolled_out_version_then_promotes(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    installed.apiserver.install_gateway_api_crds()
    await ensure_gateway(admin)
    v1 = "gs://kfserving-examples/models/sklearn/1.0/model"
    v2 = "gs://kfserving-examples/models/sklearn/1.3/model"
    async with ingress_config(admin, enableGatewayApi=True):
        await start_controller(watch_namespaces=ns)
        await admin.create(isvc("iris", ns, storage_uri=v1))
        await wait_for(lambda: admin.get("Deployment", ns, "iris-predictor"), what="Deployment")
        await rolled_out(admin, ns, "iris-predictor")
        await wait_for(lambda: admin.get("HTTPRoute", ns, "iris"), what="route")

        change = {"spec": {"predictor": {"canaryTrafficPercent": 20, "model": {"storageUri": v2}}}}
        await admin.patch("InferenceService", ns, "iris", change)
        prev = await wait_for(
            lambda: admin.get("Deployment", ns, "iris-predictor-prev"), what="the frozen copy"
        )
        assert storage_uri(prev) == v1
        latest = await admin.get("Deployment", ns, "iris-predictor")
        assert storage_uri(latest) == v1  # held until the copy is up
        await rolled_out(admin, ns, "iris-predictor-prev")

        async def latest_updated() -> bool:
            return storage_uri(await admin.get("Deployment", ns, "iris-predictor")) == v2

        await wait_for(latest_updated, what="the latest rolls once the copy is available")
        await rolled_out(admin, ns, "iris-predictor")

        async def split(want: list[tuple[str, int | None]]) -> bool:
            return backends(await admin.get("HTTPRoute", ns, "iris")) == want

        await wait_for(
            lambda: split([("iris-predictor-prev", 80), ("iris-predictor", 20)]), what="80/20"
        )

        async def traffic(want: list[tuple[str, int]]) -> bool:
            obj = await admin.get("InferenceService", ns, "iris")
            got = obj["status"].get("components", {}).get("predictor", {}).get("traffic", [])
            return [(t.get("tag"), t.get("percent")) for t in got] == want

        await wait_for(lambda: traffic([("prev", 80), ("latest", 20)]), what="PREV 80, LATEST 20")

        # Roll back: 0 sends everything to the copy, the latest stays up.
        await admin.patch(
            "InferenceService", ns, "iris", {"spec": {"predictor": {"canaryTrafficPercent": 0}}}
        )
        await wait_for(
            lambda: split([("iris-predictor-prev", 100), ("iris-predictor", 0)]), what="rollback"
        )
        await wait_for(lambda: traffic([("prev", 100), ("latest", 0)]), what="PREV 100")

        # Promote: remove the field; the latest takes everything, the copy goes.
        await admin.patch(
            "InferenceService", ns, "iris", {"spec": {"predictor": {"canaryTrafficPercent": None}}}
        )
        await wait_for(lambda: split([("iris-predictor", 1)]), what="all to the latest")

        async def copy_gone() -> bool:
            gone = await admin.get("Deployment", ns, "iris-predictor-prev") is None
            return gone and await admin.get("Service", ns, "iris-predictor-prev") is None

        await wait_for(copy_gone, what="the copy deleted")
        # Nothing split any more: no traffic entries, PREV and LATEST empty as for any isvc.
        await wait_for(lambda: traffic([]), what="no traffic split in status")


async def test_an_inference_graph_gets_a_route_and_waits_for_it(
    installed: Installed, start_controller: Any, admin: Kube, namespace: str
) -> None:
    ns = namespace
    installed.apiserver.install_gateway_api_crds()
    await ensure_gateway(admin)
    graph = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "InferenceGraph",
        "metadata": {"name": "chain", "namespace": ns},
        "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [
            {"serviceUrl": f"http://a.{ns}.svc.cluster.local/v1/models/a:predict"}]}}},
    }  # fmt: skip

    def graph_cond(kind: str, reason: str) -> Any:
        async def probe() -> dict[str, Any] | None:
            obj = await admin.get("InferenceGraph", ns, "chain")
            return obj if cond(obj, kind).get("reason") == reason else None

        return probe

    async with ingress_config(admin, enableGatewayApi=True):
        await start_controller(watch_namespaces=ns)
        await admin.create(graph)
        await wait_for(lambda: admin.get("Deployment", ns, "chain"), what="router Deployment")
        assert await admin.get("HTTPRoute", ns, "chain") is None  # held for the router
        await make_available(admin, ns, "chain")
        route = await wait_for(lambda: admin.get("HTTPRoute", ns, "chain"), what="graph route")
        assert route["spec"]["hostnames"] == [f"chain-{ns}.example.com"]
        assert backends(route) == [("chain", 1)]
        assert route["metadata"]["ownerReferences"][0]["kind"] == "InferenceGraph"
        await wait_for(
            graph_cond("Ready", "ParentStatusNotAvailable"), what="Ready waits for the gateway"
        )
        await write_route_status(admin, ns, "chain")

        async def ready() -> dict[str, Any] | None:
            obj = await admin.get("InferenceGraph", ns, "chain")
            return obj if cond(obj, "Ready").get("status") == "True" else None

        obj = await wait_for(ready, what="graph Ready")
        assert cond(obj, "IngressReady")["status"] == "True"
        assert obj["status"]["url"] == f"http://chain-{ns}.example.com"
