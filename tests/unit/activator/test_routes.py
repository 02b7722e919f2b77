"""Host → component, from the Services the controller writes."""

from __future__ import annotations

from typing import Any

from kserve_server.activator import routes
from kserve_server.activator.routes import Route, Table

HOSTS = ["sleepy-team-a.example.com", "sleepy-predictor-team-a.example.com"]


def service(name: str = "sleepy-predictor-activator", **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "labels": {routes.LABEL: "true"},
            "annotations": {
                routes.TARGET_ANNOTATION: "sleepy-predictor",
                routes.HOSTS_ANNOTATION: ",".join(HOSTS),
                **annotations,
            },
        }
    }


def test_external_hosts_and_cluster_names_route_to_the_component_service() -> None:
    table = Table(cluster_domain="cluster.local")
    table.put(service())
    want = Route(
        namespace="team-a",
        service="sleepy-predictor",
        upstream="http://sleepy-predictor.team-a.svc.cluster.local:80",
    )
    for host in [
        "sleepy-team-a.example.com",
        "Sleepy-Team-A.example.com:80",
        "sleepy-predictor-team-a.example.com.",
        "sleepy-predictor-activator",
        "sleepy-predictor-activator.team-a",
        "sleepy-predictor-activator.team-a.svc:80",
        "sleepy-predictor-activator.team-a.svc.cluster.local",
    ]:
        assert table.lookup(host) == want, host
    assert table.lookup("other-team-a.example.com") is None
    assert len(table) == 1


def test_an_update_drops_the_hosts_it_no_longer_names() -> None:
    table = Table()
    table.put(service())
    table.put(service(**{routes.HOSTS_ANNOTATION: "new.example.com"}))
    assert table.lookup("sleepy-team-a.example.com") is None
    assert table.lookup("new.example.com") is not None


def test_delete_and_replace_forget_a_service() -> None:
    table = Table()
    table.put(service())
    table.remove(service())
    assert table.lookup("sleepy-team-a.example.com") is None
    table.put(service())
    table.replace([service("b-activator", **{routes.HOSTS_ANNOTATION: "b.example.com"})])
    assert table.lookup("sleepy-team-a.example.com") is None
    assert table.lookup("b.example.com") is not None


def test_a_service_without_a_target_routes_nothing() -> None:
    table = Table()
    table.put(service(**{routes.TARGET_ANNOTATION: ""}))
    assert len(table) == 0
    assert table.lookup("sleepy-team-a.example.com") is None


def test_ipv6_host_keeps_its_address() -> None:
    assert routes.normal("[::1]:8080") == "[::1]"
