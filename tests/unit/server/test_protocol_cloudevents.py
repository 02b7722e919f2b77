"""CloudEvents in and out of V1 predict, binary and structured, through a real socket."""

from __future__ import annotations

from .conftest import AppClient

IRIS = "/v1/models/sklearn-iris:predict"
CE = {"ce-specversion": "1.0", "ce-source": "test", "ce-type": "req", "ce-id": "42"}


async def test_binary_event_in_binary_event_out(client: AppClient) -> None:
    resp = await client.post(
        IRIS,
        data=b'{"instances": [[6.8, 2.8, 4.8, 1.4]]}',
        headers={**CE, "Content-Type": "application/json"},
    )
    assert resp.status == 200
    assert await resp.json() == {"predictions": [1]}
    assert resp.headers["ce-specversion"] == "1.0"
    assert resp.headers["ce-source"] == "io.kserve.inference.sklearn-iris"
    assert resp.headers["ce-type"] == "io.kserve.inference.response"
    assert resp.headers["ce-id"] != "42"
    assert resp.headers["ce-time"].startswith("20")


async def test_structured_event(client: AppClient) -> None:
    envelope = {
        "specversion": "1.0",
        "id": "7",
        "source": "test",
        "type": "req",
        "data": {"instances": [["Hi, how are you?"]]},
    }
    resp = await client.post(
        "/v1/models/intent-classifier:predict",
        json=envelope,
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert resp.headers["Content-Type"] == "application/cloudevents+json"
    body = await resp.json(content_type=None)
    assert body["data"] == {"predictions": ["greeting"]}
    assert body["source"] == "io.kserve.inference.intent-classifier"
    assert body["type"] == "io.kserve.inference.response"


async def test_bad_binary_event_is_400(client: AppClient) -> None:
    resp = await client.post(IRIS, data=b"\x80{", headers=CE)
    assert resp.status == 400
    assert "Failed to decode or parse binary json cloudevent" in (await resp.json())["error"]
