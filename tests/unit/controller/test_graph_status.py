"""An InferenceGraph's status from its Deployment: what `kubectl get ig` shows."""

from __future__ import annotations

from typing import Any

from kserve_controller import config as config_mod
from kserve_controller import graph_status

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:05:00Z"
GRAPH: dict[str, Any] = {"metadata": {"name": "pipe", "namespace": "ml", "generation": 3}}


def deployment(*conds: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "pipe"},
        "status": {"conditions": [{"type": t, "status": s, "reason": r} for t, s, r in conds]},
    }


def ready(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_available_deployment_makes_the_graph_ready_with_upstreams_url() -> None:
    config = config_mod.parse({})
    st = graph_status.compute(
        GRAPH, deployment=deployment(("Available", "True", "")), config=config, now=NOW
    )
    assert ready(st)["status"] == "True"
    assert st["url"] == "http://pipe-ml.example.com"
    assert st["observedGeneration"] == 3
    assert {"type": "Stopped", "status": "False", "lastTransitionTime": NOW} in st["conditions"]


def test_cluster_local_domain_gives_the_service_address() -> None:
    config = config_mod.parse({"ingress": '{"ingressDomain": "svc.cluster.local"}'})
    st = graph_status.compute(
        GRAPH, deployment=deployment(("Available", "True", "")), config=config, now=NOW
    )
    assert st["url"] == "http://pipe.ml.svc.cluster.local"


def test_unavailable_deployment_says_why_and_has_no_url() -> None:
    st = graph_status.compute(
        GRAPH,
        deployment=deployment(("Available", "False", "MinimumReplicasUnavailable")),
        config=config_mod.parse({}),
        now=NOW,
    )
    assert ready(st)["status"] == "False"
    assert ready(st)["reason"] == "MinimumReplicasUnavailable"
    assert "url" not in st
    st = graph_status.compute(GRAPH, deployment=None, config=config_mod.parse({}), now=NOW)
    assert ready(st)["reason"] == "DeploymentNotCreated"


def test_unchanged_world_gives_an_equal_status_so_no_write() -> None:
    config = config_mod.parse({})
    first = graph_status.compute(
        GRAPH, deployment=deployment(("Available", "True", "")), config=config, now=NOW
    )
    again = graph_status.compute(
        {**GRAPH, "status": first},
        deployment=deployment(("Available", "True", "")),
        config=config,
        now=LATER,
    )
    assert again == first


def test_not_ready_names_the_missing_service() -> None:
    st = graph_status.not_ready(
        GRAPH, reason="ServiceNotFound", message="InferenceService x not found", now=NOW
    )
    assert ready(st) == {
        "type": "Ready",
        "status": "False",
        "reason": "ServiceNotFound",
        "message": "InferenceService x not found",
        "lastTransitionTime": NOW,
    }
    assert not graph_status.is_ready(st)


def test_in_gateway_api_mode_ready_waits_for_the_route() -> None:
    graph = {"metadata": {"name": "g", "namespace": "ml", "generation": 1}}
    deployment = {
        "metadata": {"name": "g"},
        "status": {"conditions": [{"type": "Available", "status": "True"}]},
    }
    cfg = config_mod.parse({"ingress": '{"enableGatewayApi": true}'})
    waiting = {"type": "IngressReady", "status": "False", "reason": "GatewayNotFound",
               "message": "Gateway kserve/kserve-ingress-gateway not found"}  # fmt: skip
    got = graph_status.compute(graph, deployment=deployment, config=cfg, now="t", ingress=waiting)
    conds = {c["type"]: c for c in got["conditions"]}
    assert (conds["Ready"]["status"], conds["Ready"]["reason"]) == ("False", "GatewayNotFound")
    assert conds["IngressReady"]["status"] == "False"
    admitted = {"type": "IngressReady", "status": "True"}
    got = graph_status.compute(graph, deployment=deployment, config=cfg, now="t", ingress=admitted)
    assert {c["type"]: c["status"] for c in got["conditions"]}["Ready"] == "True"
    assert got["url"] == "http://g-ml.example.com"
