"""`--graph-json` checks: what cannot run is refused at start-up, naming node and step."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kserve_server.router.graph import GraphError, parse

URL = "http://m.default.svc.cluster.local/v1/models/m:predict"


def graph(nodes: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"nodes": nodes, **extra})


def test_parses_an_upstream_spec_with_extra_fields() -> None:
    g = parse(
        graph(
            {
                "root": {
                    "routerType": "Sequence",
                    "steps": [
                        {"serviceName": "m", "serviceUrl": URL, "name": "one", "dependency": "Hard"}
                    ],
                }
            },
            resources={"limits": {"cpu": "1"}},
            routerTimeouts={"serviceClient": 3},
        )
    )
    step = g.nodes["root"].steps[0]
    assert step.service_url == URL and step.hard and step.name == "one"
    assert g.router_timeouts.service_client == 3


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        (
            {"other": {"routerType": "Sequence", "steps": [{"serviceUrl": URL}]}},
            "no node named root",
        ),
        ({"root": {"routerType": "Sequence", "steps": []}}, "node root has no steps"),
        (
            {"root": {"routerType": "Sequence", "steps": [{"name": "x"}]}},
            "node root step 0 (x) has no target",
        ),
        (
            {"root": {"routerType": "Sequence", "steps": [{"serviceName": "iris"}]}},
            "serviceName iris must be resolved to a serviceUrl",
        ),
        (
            {"root": {"routerType": "Sequence", "steps": [{"serviceUrl": "ftp://x"}]}},
            "is not an http(s) URL",
        ),
        (
            {"root": {"routerType": "Sequence", "steps": [{"nodeName": "nowhere"}]}},
            "nodeName nowhere is not a node",
        ),
        (
            {
                "root": {
                    "routerType": "Sequence",
                    "steps": [{"name": "a", "serviceUrl": URL}, {"name": "a", "serviceUrl": URL}],
                }
            },
            "step names must be unique",
        ),
        (
            {
                "root": {
                    "routerType": "Splitter",
                    "steps": [{"serviceUrl": URL, "weight": 30}, {"serviceUrl": URL, "weight": 30}],
                }
            },
            "weights must all be set and sum to 100",
        ),
        (
            {"root": {"routerType": "Splitter", "steps": [{"serviceUrl": URL}]}},
            "weights must all be set",
        ),
        (
            {
                "root": {"routerType": "Sequence", "steps": [{"nodeName": "a"}]},
                "a": {"routerType": "Sequence", "steps": [{"nodeName": "root"}]},
            },
            "node root reaches itself: root -> a -> root",
        ),
        (
            {"root": {"routerType": "Switch", "steps": [{"serviceUrl": URL, "condition": "a|b"}]}},
            "node root step 0: condition 'a|b': unsupported GJSON syntax",
        ),
        ({"root": {"routerType": "Fork", "steps": [{"serviceUrl": URL}]}}, "nodes.root.routerType"),
    ],
)
def test_refuses_graphs_that_cannot_run(nodes: dict[str, Any], message: str) -> None:
    with pytest.raises(GraphError) as err:
        parse(graph(nodes))
    assert message in str(err.value)


def test_refuses_text_that_is_not_json() -> None:
    with pytest.raises(GraphError, match="invalid graph"):
        parse("{nodes")
