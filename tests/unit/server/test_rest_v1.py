"""V1 endpoints through a real socket: the tutorial's requests and V1's error bodies."""

from __future__ import annotations

import pytest

from .conftest import AppClient

IRIS = "/v1/models/sklearn-iris:predict"
INTENT = "/v1/models/intent-classifier:predict"


async def test_root_is_alive(client: AppClient) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert await resp.json() == {"status": "alive"}


async def test_list_models_in_registration_order(client: AppClient) -> None:
    resp = await client.get("/v1/models")
    assert await resp.json() == {"models": ["sklearn-iris", "intent-classifier"]}


async def test_model_ready(client: AppClient) -> None:
    resp = await client.get("/v1/models/sklearn-iris")
    assert resp.status == 200
    assert await resp.json() == {"name": "sklearn-iris", "ready": True}


async def test_tutorial_iris_request(client: AppClient) -> None:
    # the tutorial's exact curl body; upstream's SVC on iris answers class 1 for this row
    resp = await client.post(
        IRIS,
        data='{\n    "instances": [[6.8, 2.8, 4.8, 1.4]]\n  }',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.read() == b'{"predictions":[1]}'


async def test_iris_two_rows_like_upstream_e2e(client: AppClient) -> None:
    resp = await client.post(IRIS, json={"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]})
    assert await resp.json() == {"predictions": [1, 1]}


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Hi, how are you?", "greeting"),
        ("Hello, how are you?", "greeting"),
        ("I want to cancel my subscription", "cancellation"),
    ],
)
async def test_tutorial_intent_requests(client: AppClient, text: str, label: str) -> None:
    resp = await client.post(
        INTENT,
        data='{\n    "instances": [["' + text + '"]]\n  }',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    assert await resp.json() == {"predictions": [label]}


async def test_intent_accepts_flat_strings(client: AppClient) -> None:
    resp = await client.post(INTENT, json={"instances": ["Hi, how are you?", "cancel my account"]})
    assert await resp.json() == {"predictions": ["greeting", "cancellation"]}


async def test_inputs_is_accepted_like_instances(client: AppClient) -> None:
    resp = await client.post(IRIS, json={"inputs": [[6.8, 2.8, 4.8, 1.4]]})
    assert await resp.json() == {"predictions": [1]}


async def test_body_without_json_content_type_is_still_json(client: AppClient) -> None:
    # curl -d without -H sends application/x-www-form-urlencoded
    resp = await client.post(
        IRIS,
        data='{"instances": [[6.8, 2.8, 4.8, 1.4]]}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert await resp.json() == {"predictions": [1]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"instances": [[1, 2, 3, 4]', "Unrecognized request format"),
        ('{"instances": "x"}', 'Expected "instances" to be a list'),
        ('{"rows": [[1, 2, 3, 4]]}', 'Missing "instances"'),
        ("[1, 2]", "JSON object"),
        ('{"instances": []}', '"instances" is empty'),
        ('{"instances": [[6.8, 2.8]]}', "expected 4 features per instance, got 2"),
        ('{"instances": [[1, 2], [3]]}', "not a rectangular array"),
        ('{"instances": [["a", "b", "c", "d"]]}', "ValueError"),
    ],
)
async def test_bad_requests_are_400_and_the_server_keeps_answering(
    client: AppClient, body: str, message: str
) -> None:
    resp = await client.post(IRIS, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert message in error
    assert "Traceback" not in error
    again = await client.post(IRIS, json={"instances": [[6.8, 2.8, 4.8, 1.4]]})
    assert await again.json() == {"predictions": [1]}


async def test_unknown_model_is_404(client: AppClient) -> None:
    resp = await client.post("/v1/models/nope:predict", json={"instances": [[1, 2, 3, 4]]})
    assert resp.status == 404
    assert await resp.json() == {"error": "Model with name nope does not exist."}
    resp = await client.get("/v1/models/nope")
    assert resp.status == 404


async def test_explain_without_explainer_is_501(client: AppClient) -> None:
    resp = await client.post("/v1/models/sklearn-iris:explain", json={"instances": [[1, 2, 3, 4]]})
    assert resp.status == 501
    assert "has no explainer" in (await resp.json())["error"]


async def test_unknown_path_and_method_are_json_errors(client: AppClient) -> None:
    resp = await client.get("/v3/nothing")
    assert resp.status == 404
    assert (await resp.json())["error"] == "Not Found: GET /v3/nothing"
    resp = await client.delete("/v1/models")
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert "Method Not Allowed" in (await resp.json())["error"]


async def test_numbers_to_the_text_model_are_400(client: AppClient) -> None:
    # upstream 0.21 answers 500 "'numpy.ndarray' object has no attribute 'lower'" here
    resp = await client.post(INTENT, json={"instances": [[1, 2, 3, 4]]})
    assert resp.status == 400
    assert "takes one string per instance" in (await resp.json())["error"]


async def test_the_text_model_takes_one_object_per_row(client: AppClient) -> None:
    texts = ["Hi, how are you?", "I want to cancel my subscription", "Hello, how are you?"]
    rows = [{"text": text} for text in texts]
    resp = await client.post(INTENT, json={"instances": rows})
    assert resp.status == 200
    assert await resp.json() == {"predictions": ["greeting", "cancellation", "greeting"]}


async def test_objects_with_several_fields_to_the_text_model_are_400(client: AppClient) -> None:
    resp = await client.post(INTENT, json={"instances": [{"text": "hi", "lang": "en"}]})
    assert resp.status == 400
    assert "fields ['lang', 'text'], expected exactly one" in (await resp.json())["error"]
