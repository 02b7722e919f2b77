"""IngressReady from HTTPRoute status, and IngressAdmitted from an Ingress (route_status.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import route_status

GATEWAY = ("kserve", "kserve-ingress-gateway")
ROUTES = [("predictor", "iris-predictor"), ("", "iris")]


def route(name: str, *conds: tuple[str, str], generation: int = 2, seen: int = 2) -> dict[str, Any]:
    parent = {
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                      "namespace": GATEWAY[0], "name": GATEWAY[1]},
        "conditions": [
            {"type": t, "status": s, "reason": "Why" if s != "True" else t,
             "message": "because", "observedGeneration": seen}
            for t, s in conds
        ],
    }  # fmt: skip
    return {
        "metadata": {"name": name, "namespace": "ml", "generation": generation},
        "status": {"parents": [parent] if conds else []},
    }


def ingress_ready(observed: dict[str, Any], found: bool | None = True) -> dict[str, Any]:
    return route_status.from_routes(ROUTES, observed, gateway=GATEWAY, gateway_found=found)


OK = (("Accepted", "True"), ("ResolvedRefs", "True"))
UNRESOLVED = (("Accepted", "True"), ("ResolvedRefs", "False"))


def test_every_route_accepted_with_refs_resolved_is_ready() -> None:
    cond = ingress_ready(
        {"iris-predictor": route("iris-predictor", *OK), "iris": route("iris", *OK)}
    )
    assert cond == {"type": "IngressReady", "status": "True"}


@pytest.mark.parametrize(
    ("observed", "found", "reason", "words"),
    [
        ({}, True, "Predictor ingress not created", "HTTPRoute iris-predictor not created"),
        ({"iris-predictor": route("iris-predictor", *OK)}, True,
         "InferenceService ingress not created", "HTTPRoute iris not created"),
        ({"iris-predictor": route("iris-predictor")}, False, "GatewayNotFound",
         "Gateway kserve/kserve-ingress-gateway not found"),
        ({"iris-predictor": route("iris-predictor")}, None, "ParentStatusNotAvailable",
         "no status from Gateway kserve/kserve-ingress-gateway"),
        ({"iris-predictor": route("iris-predictor", *OK, generation=3)}, True,
         "ParentStatusNotAvailable", "has not reported Accepted"),
        ({"iris-predictor": route("iris-predictor", *UNRESOLVED)}, True,
         "Why", "Predictor HTTPRoute iris-predictor: because"),
    ],
)  # fmt: skip
def test_the_first_route_not_ready_says_why(
    observed: dict[str, Any], found: bool | None, reason: str, words: str
) -> None:
    cond = ingress_ready(observed, found)
    assert (cond["status"], cond["reason"]) == ("False", reason)
    assert words in cond["message"]


def test_a_status_for_another_gateway_is_not_ours() -> None:
    other = route("iris-predictor", *OK)
    other["status"]["parents"][0]["parentRef"]["name"] = "elsewhere"
    assert ingress_ready({"iris-predictor": other})["reason"] == "ParentStatusNotAvailable"


def test_missing_crds_are_named() -> None:
    cond = route_status.not_installed(["httproutes.gateway.networking.k8s.io"])
    assert (cond["status"], cond["reason"]) == ("False", "GatewayAPINotInstalled")
    assert "httproutes.gateway.networking.k8s.io" in cond["message"]


def test_ingress_admitted_reads_the_load_balancer_address_and_never_gates() -> None:
    ing: dict[str, Any] = {"metadata": {"name": "iris"}, "status": {"loadBalancer": {}}}
    waiting = route_status.admitted(ing, class_name="traefik")
    assert waiting is not None
    assert (waiting["status"], waiting["severity"]) == ("Unknown", "Info")
    assert "class traefik" in waiting["message"]
    ing["status"]["loadBalancer"]["ingress"] = [{"ip": "10.0.0.7"}, {"hostname": "lb.test"}]
    done = route_status.admitted(ing, class_name=None)
    assert done is not None and (done["status"], done["message"]) == ("True", "10.0.0.7, lb.test")
    assert route_status.admitted(None, class_name=None) is None
