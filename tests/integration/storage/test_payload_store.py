"""Payload logs stored in a bucket (logger url s3:// or gs://) as upstream's logger stores them:
moto's S3 server and the GCS emulator the storage tests already run, a model server in process
with its credentials from the environment."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from storage_servers import GcsEmulator, S3Server, free_port

from kserve_server import server
from kserve_server.inference import PredictRequest, PredictResponse, Request, Response
from kserve_server.payload_settings import LoggerSettings
from kserve_server.runtimes.base import Model

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


class Doubler(Model):
    def predict(self, request: Request) -> Response:
        assert isinstance(request, PredictRequest)
        return PredictResponse(predictions=[2 * x for x in request.instances])


async def _serve_and_send(logger: LoggerSettings, count: int) -> list[str]:
    """Run a server logging to `logger`, send `count` predictions, stop it (the store flushes);
    the exchange ids sent."""
    from kserve_server.settings import ServerSettings

    settings = ServerSettings(host="127.0.0.1", http_port=0, grace_period=5, logger=logger)
    running = await server.start(settings, models=[Doubler("doubler")])
    assert running.repository.loading is not None
    await running.repository.loading
    ids = [str(uuid.uuid4()) for _ in range(count)]
    async with aiohttp.ClientSession() as client:
        for n, exchange in enumerate(ids):
            async with client.post(
                f"http://127.0.0.1:{running.port}/v1/models/doubler:predict",
                json={"instances": [n]},
                headers={"Ce-Id": exchange},
            ) as r:
                assert r.status == 200
    running.stop()
    assert await running.wait() == 0
    return ids


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"logs-{uuid.uuid4().hex[:8]}"
    s3_server.client().create_bucket(Bucket=bucket)
    return bucket


async def test_s3_objects_hold_upstreams_log_requests_in_batches(
    s3_server: S3Server, s3_env: str
) -> None:
    logger = LoggerSettings(
        url=f"s3://{s3_env}/logs",
        namespace="default",
        inference_service="doubler",
        component="predictor",
        store_path="store",
        batch_size=2,
        source_uri="doubler-predictor-abc",
    )
    ids = await _serve_and_send(logger, 3)  # 6 records: 3 objects of 2
    client = s3_server.client()
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_env)["Contents"])
    assert len(keys) == 3
    assert all(k.startswith("logs/default/doubler/predictor/store/") for k in keys)
    records: list[dict[str, Any]] = []
    for key in keys:
        batch = json.loads(client.get_object(Bucket=s3_env, Key=key)["Body"].read())
        assert isinstance(batch, list) and len(batch) == 2
        first = batch[0]
        kind = first["reqType"].rsplit(".", 1)[-1]
        assert key.endswith(f"/{first['id']}-{kind}.json")
        records += batch
    assert sorted((r["id"], r["reqType"]) for r in records) == sorted(
        [(i, REQUEST) for i in ids] + [(i, RESPONSE) for i in ids]
    )
    one = next(r for r in records if r["id"] == ids[2] and r["reqType"] == RESPONSE)
    assert json.loads(base64.b64decode(one["bytes"])) == {"predictions": [4]}
    assert one["url"]["Scheme"] == "s3" and one["url"]["Host"] == s3_env
    assert one["sourceUri"]["Path"] == "doubler-predictor-abc"
    assert one["contentType"] == "application/json"
    assert (one["namespace"], one["inferenceService"], one["component"]) == (
        "default",
        "doubler",
        "predictor",
    )
    assert one["occurrenceTime"].endswith("Z")


async def test_gcs_objects_in_csv(
    gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.host)
    bucket = f"logs-{uuid.uuid4().hex[:8]}"
    await gcs_emulator.bucket(bucket)
    logger = LoggerSettings(url=f"gs://{bucket}", store_format="csv", namespace="ml")
    ids = await _serve_and_send(logger, 2)
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://{gcs_emulator.host}/storage/v1/b/{bucket}/o") as r,
    ):
        names = sorted(item["name"] for item in (await r.json())["items"])
    assert names == sorted(f"ml/{i}-{kind}.csv" for i in ids for kind in ("request", "response"))
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            f"http://{gcs_emulator.host}/storage/v1/b/{bucket}/o/ml%2F{ids[1]}-request.csv",
            params={"alt": "media"},
        ) as r,
    ):
        rows = list(csv.reader(io.StringIO(await r.text())))
    assert rows[0][:5] == ["url", "bytes", "contentType", "reqType", "id"]
    assert len(rows) == 2
    assert json.loads(base64.b64decode(rows[1][1])) == {"instances": [1]}
    assert rows[1][3:5] == [REQUEST, ids[1]]


@pytest.fixture
async def marshaller() -> AsyncIterator[tuple[str, list[Any]]]:
    received: list[Any] = []

    async def marshal(request: web.Request) -> web.Response:
        batch = await request.json()
        received.append(batch)
        lines = "".join(f"{r['id']} {r['reqType']}\n" for r in batch)
        return web.Response(text=lines, headers={"X-Log-Marshal-Extension": "txt"})

    app = web.Application()
    app.router.add_post("/marshal", marshal)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/marshal", received
    await runner.cleanup()


async def test_an_external_marshaller_decides_the_bytes_and_extension(
    s3_server: S3Server, s3_env: str, marshaller: tuple[str, list[Any]]
) -> None:
    url, received = marshaller
    logger = LoggerSettings(url=f"s3://{s3_env}", marshaller_url=url, mode="request")
    [exchange] = await _serve_and_send(logger, 1)
    client = s3_server.client()
    [key] = [o["Key"] for o in client.list_objects_v2(Bucket=s3_env)["Contents"]]
    assert key == f"{exchange}-request.txt"
    body = client.get_object(Bucket=s3_env, Key=key)["Body"].read().decode()
    assert body == f"{exchange} {REQUEST}\n"
    assert json.loads(base64.b64decode(received[0][0]["bytes"])) == {"instances": [0]}
