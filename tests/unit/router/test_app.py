"""The router over HTTP, in front of real model servers on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import MakeRouter, ServeModel


def seq(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"nodes": {"root": {"routerType": "Sequence", "steps": list(steps)}}, **extra}


async def test_sequence_passes_the_first_response_to_the_second_model(
    model: ServeModel, router: MakeRouter
) -> None:
    _, url1 = await model(lambda b: {"predictions": [x * 2 for x in b["instances"]]})
    second, url2 = await model(lambda b: {"predictions": [b]})
    client = await router(seq({"serviceUrl": url1}, {"serviceUrl": url2, "data": "$response"}))
    resp = await client.post("/", json={"instances": [1, 2]})
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == {"predictions": [{"predictions": [2, 4]}]}
    assert second.seen == [{"predictions": [2, 4]}]


async def test_sequence_without_data_sends_the_original_request_to_each_step(
    model: ServeModel, router: MakeRouter
) -> None:
    _, url1 = await model(lambda b: {"predictions": ["a"]})
    second, url2 = await model(lambda b: {"predictions": ["b"]})
    client = await router(seq({"serviceUrl": url1}, {"serviceUrl": url2}))
    resp = await client.post("/v1/models/graph:predict", json={"instances": [7]})
    assert await resp.json() == {"predictions": ["b"]}
    assert second.seen == [{"instances": [7]}]


async def test_map_predictions_to_instances(model: ServeModel, router: MakeRouter) -> None:
    _, url1 = await model(lambda b: {"predictions": [[1, 2]], "model_name": "a"})
    second, url2 = await model(lambda b: {"predictions": [0]})
    steps = (
        {"serviceUrl": url1},
        {"serviceUrl": url2, "data": "$response", "mapPredictionsToInstances": True},
    )
    client = await router(seq(*steps))
    assert (await client.post("/", json={"instances": [[0]]})).status == 200
    assert second.seen == [{"instances": [[1, 2]]}]


async def test_sequence_condition_unmet_stops_with_the_previous_response(
    model: ServeModel, router: MakeRouter
) -> None:
    _, url1 = await model(lambda b: {"predictions": ["cat"]})
    second, url2 = await model(lambda b: {"predictions": ["dog detail"]})
    step2 = {
        "serviceUrl": url2,
        "data": "$response",
        "condition": '[@this].#(predictions.0=="dog")',
    }
    client = await router(seq({"serviceUrl": url1}, step2))
    resp = await client.post("/", json={"instances": [1]})
    assert resp.status == 200
    assert await resp.json() == {"predictions": ["cat"]}
    assert second.seen == []


async def test_switch_takes_the_first_step_whose_condition_holds(
    model: ServeModel, router: MakeRouter
) -> None:
    _, url_a = await model(lambda b: {"predictions": ["a"]})
    _, url_b = await model(lambda b: {"predictions": ["b"]})
    spec = {
        "nodes": {
            "root": {
                "routerType": "Switch",
                "steps": [
                    {
                        "name": "client",
                        "serviceUrl": url_a,
                        "condition": "[@this].#(source==client)",
                    },
                    {"name": "big", "serviceUrl": url_b, "condition": "instances.#(intval>10)"},
                ],
            }
        }
    }
    client = await router(spec)
    got = await (await client.post("/", json={"source": "client", "instances": []})).json()
    assert got == {"predictions": ["a"]}
    got = await (await client.post("/", json={"instances": [{"intval": 11}]})).json()
    assert got == {"predictions": ["b"]}
    resp = await client.post("/", json={"instances": [{"intval": 3}]})
    assert resp.status == 404
    body = await resp.json()
    assert "none of the steps' conditions matched" in body["cause"]
    assert "node root" in body["cause"]


async def test_ensemble_answers_every_step_keyed_by_name(
    model: ServeModel, router: MakeRouter
) -> None:
    _, url_a = await model(lambda b: {"predictions": [1]})
    _, url_b = await model(lambda b: {"predictions": [2]})
    _, url_c = await model(lambda b: {"predictions": [3]})
    spec = {
        "nodes": {
            "root": {
                "routerType": "Ensemble",
                "steps": [
                    {"name": "sklearn", "serviceUrl": url_a},
                    {"name": "xgboost", "serviceUrl": url_b},
                    {"serviceUrl": url_c},
                ],
            }
        }
    }
    got = await (await (await router(spec)).post("/", json={"instances": [1]})).json()
    assert got == {
        "sklearn": {"predictions": [1]},
        "xgboost": {"predictions": [2]},
        "2": {"predictions": [3]},
    }


async def test_nodes_compose_sequence_into_ensemble(model: ServeModel, router: MakeRouter) -> None:
    _, url_a = await model(lambda b: {"predictions": [b["instances"][0] + 1]})
    _, url_b = await model(lambda b: {"predictions": [b["instances"][0] * 10]})
    spec = {
        "nodes": {
            "root": {
                "routerType": "Sequence",
                "steps": [
                    {"serviceUrl": url_a},
                    {"nodeName": "both", "data": "$response", "mapPredictionsToInstances": True},
                ],
            },
            "both": {
                "routerType": "Ensemble",
                "steps": [
                    {"name": "plus", "serviceUrl": url_a},
                    {"name": "times", "serviceUrl": url_b},
                ],
            },
        }
    }
    got = await (await (await router(spec)).post("/", json={"instances": [1]})).json()
    assert got == {"plus": {"predictions": [3]}, "times": {"predictions": [20]}}


async def test_splitter_honours_weights_over_many_requests(
    model: ServeModel, router: MakeRouter
) -> None:
    light, url_a = await model(lambda b: {"predictions": ["light"]})
    heavy, url_b = await model(lambda b: {"predictions": ["heavy"]})
    spec = {
        "nodes": {
            "root": {
                "routerType": "Splitter",
                "steps": [{"serviceUrl": url_a, "weight": 20}, {"serviceUrl": url_b, "weight": 80}],
            }
        }
    }
    client = await router(spec)
    for _ in range(500):
        assert (await client.post("/", json={"instances": [1]})).status == 200
    # binomial(500, 0.2): mean 100, sd ~9; these bounds are ~5.5 sd wide
    assert 50 <= len(light.seen) <= 150
    assert len(light.seen) + len(heavy.seen) == 500


async def test_soft_failure_continues_the_sequence(model: ServeModel, router: MakeRouter) -> None:
    _, bad = await model(lambda b: {"error": "boom"}, status=500)
    last, good = await model(lambda b: {"predictions": ["ok"]})
    client = await router(seq({"serviceUrl": bad, "dependency": "Soft"}, {"serviceUrl": good}))
    resp = await client.post("/", json={"instances": [1]})
    assert resp.status == 200
    assert await resp.json() == {"predictions": ["ok"]}
    assert len(last.seen) == 1


async def test_hard_failure_stops_the_sequence_with_its_status(
    model: ServeModel, router: MakeRouter
) -> None:
    _, bad = await model(lambda b: {"error": "model not ready"}, status=503)
    last, good = await model(lambda b: {"predictions": ["ok"]})
    client = await router(seq({"serviceUrl": bad, "dependency": "Hard"}, {"serviceUrl": good}))
    resp = await client.post("/", json={"instances": [1]})
    assert resp.status == 503
    assert await resp.json() == {"error": "model not ready"}
    assert last.seen == []


async def test_ensemble_hard_failure_decides_the_answer_soft_is_merged(
    model: ServeModel, router: MakeRouter
) -> None:
    _, ok = await model(lambda b: {"predictions": [1]})
    _, bad = await model(lambda b: {"error": "bad input"}, status=400)
    soft = {
        "nodes": {
            "root": {
                "routerType": "Ensemble",
                "steps": [{"name": "a", "serviceUrl": ok}, {"name": "b", "serviceUrl": bad}],
            }
        }
    }
    resp = await (await router(soft)).post("/", json={})
    assert resp.status == 200
    assert await resp.json() == {"a": {"predictions": [1]}, "b": {"error": "bad input"}}
    soft["nodes"]["root"]["steps"][1]["dependency"] = "Hard"
    resp = await (await router(soft)).post("/", json={})
    assert resp.status == 400
    assert await resp.json() == {"error": "bad input"}


async def test_unreachable_service_is_a_502_naming_the_step(
    model: ServeModel, router: MakeRouter, unused_tcp_port: int
) -> None:
    _, ok = await model(lambda b: {"predictions": [1]})
    gone = f"http://127.0.0.1:{unused_tcp_port}/v1/models/x:predict"
    client = await router(seq({"serviceUrl": ok}, {"name": "classifier", "serviceUrl": gone}))
    resp = await client.post("/", json={"instances": [1]})
    assert resp.status == 502
    body = await resp.json()
    assert body["error"] == "Failed to process request"
    assert "node root step 1 (classifier)" in body["cause"]
    assert gone in body["cause"]
    assert (await client.get("/readyz")).status == 200  # still serving


async def test_service_client_timeout_is_a_504_naming_the_step(
    model: ServeModel, router: MakeRouter
) -> None:
    hang = asyncio.Event()
    _, slow = await model(lambda b: {}, hang=hang)
    spec = seq({"name": "slow", "serviceUrl": slow}, routerTimeouts={"serviceClient": 1})
    try:
        resp = await (await router(spec)).post("/", json={"instances": [1]})
        assert resp.status == 504
        cause = (await resp.json())["cause"]
        assert "step 0 (slow)" in cause
        assert "did not answer within 1s" in cause
    finally:
        hang.set()


async def test_propagates_only_matching_headers(model: ServeModel, router: MakeRouter) -> None:
    m, url = await model(lambda b: {"predictions": [1]})
    client = await router(seq({"serviceUrl": url}), propagate=["^Authorization$", "X-Tenant-.*"])
    headers = {"authorization": "Bearer t", "x-tenant-id": "7", "x-other": "no"}
    assert (await client.post("/", json={}, headers=headers)).status == 200
    seen = {k.lower(): v for k, v in m.headers[0].items()}
    assert seen["authorization"] == "Bearer t"
    assert seen["x-tenant-id"] == "7"
    assert "x-other" not in seen
    assert seen["content-type"] == "application/json"


async def test_readyz_and_no_get_on_graph(router: MakeRouter) -> None:
    client = await router(seq({"serviceUrl": "http://127.0.0.1:9/x"}))
    assert (await client.get("/readyz")).status == 200
    assert (await client.get("/")).status == 405
