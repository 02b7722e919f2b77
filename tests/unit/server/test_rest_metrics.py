"""Prometheus /metrics: upstream's stage histograms and per-protocol request counts, per app."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Histogram

from kserve_server.rest.metrics import Metrics

from .conftest import AppClient


async def test_metrics_after_v1_and_v2_requests(client: AppClient) -> None:
    await client.post("/v1/models/sklearn-iris:predict", json={"instances": [[6.8, 2.8, 4.8, 1.4]]})
    await client.post("/v1/models/sklearn-iris:predict", json={"instances": "bad"})
    tensor = {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [6.8, 2.8, 4.8, 1.4]}
    await client.post("/v2/models/sklearn-iris/infer", json={"inputs": [tensor]})
    await client.post("/v2/models/no-such-model/infer", json={"inputs": [tensor]})
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = await resp.text()
    assert 'request_predict_seconds_count{model_name="sklearn-iris"} 2.0' in text
    assert 'request_preprocess_seconds_count{model_name="sklearn-iris"} 2.0' in text
    assert "# HELP request_predict_seconds predict request latency" in text
    assert (
        'inference_requests_total{code="200",model_name="sklearn-iris",protocol="v1"} 1.0' in text
    )
    assert (
        'inference_requests_total{code="400",model_name="sklearn-iris",protocol="v1"} 1.0' in text
    )
    assert (
        'inference_requests_total{code="200",model_name="sklearn-iris",protocol="v2"} 1.0' in text
    )
    assert "no-such-model" not in text
    assert "process_resident_memory_bytes" in text


async def test_stages_of_a_request_run_in_a_worker_thread_are_counted(client: AppClient) -> None:
    rows = 1100  # over the data plane's inline limit: the stages run in a worker thread
    tensor = {
        "name": "x",
        "shape": [rows, 4],
        "datatype": "FP32",
        "data": [5.0, 3.0, 1.5, 0.2] * rows,
    }
    resp = await client.post("/v2/models/sklearn-iris/infer", json={"inputs": [tensor]})
    assert resp.status == 200
    text = await (await client.get("/metrics")).text()
    for stage in ("preprocess", "predict", "postprocess"):
        assert f'request_{stage}_seconds_count{{model_name="sklearn-iris"}} 1.0' in text


async def test_openmetrics_on_request(client: AppClient) -> None:
    resp = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert resp.content_type == "application/openmetrics-text"
    assert (await resp.text()).rstrip().endswith("# EOF")


async def test_openapi_document_is_served(client: AppClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert "/v2/models/{name}/infer" in doc["paths"]
    assert "InferenceRequest" in doc["components"]["schemas"]


def test_samples_are_those_prometheus_client_would_write() -> None:
    ours = Metrics()
    reference = CollectorRegistry()
    stage = Histogram(
        "request_predict_seconds", "predict request latency", ["model_name"], registry=reference
    )
    requests = Counter(
        "inference_requests",
        "inference requests by model, protocol and status (HTTP code or gRPC code name)",
        ["model_name", "protocol", "code"],
        registry=reference,
    )
    latency = Histogram(
        "inference_request_duration_seconds",
        "inference request latency, from the body read to the response built",
        ["model_name", "protocol"],
        registry=reference,
    )
    # on, between and past the bucket bounds (a value equal to a bound is in that bucket)
    for seconds in (0.0, 0.005, 0.0051, 0.3, 1.0, 9.99, 10.0, 11.0):
        ours.observe_stages("m", [("predict", seconds)])
        stage.labels("m").observe(seconds)
        ours.count_request("m", "v2", "200", seconds)
        requests.labels("m", "v2", "200").inc()
        latency.labels("m", "v2").observe(seconds)
    ours.count_request("m", "grpc-v2", "INVALID_ARGUMENT", 0.001)
    requests.labels("m", "grpc-v2", "INVALID_ARGUMENT").inc()
    latency.labels("m", "grpc-v2").observe(0.001)

    def samples(registry: CollectorRegistry, names: set[str]) -> list[tuple[str, str]]:
        kept = []
        for family in registry.collect():
            if family.name in names:
                kept += [
                    (s.name, f"{sorted(s.labels.items())} {s.value}")
                    for s in family.samples
                    if not s.name.endswith("_created")  # a clock reading
                ]
        return kept

    names = {"request_predict_seconds", "inference_requests", "inference_request_duration_seconds"}
    assert samples(ours.registry, names) == samples(reference, names)
    created = [s for f in ours.registry.collect() for s in f.samples if s.name.endswith("_created")]
    assert len(created) == 1 + 2 + 2  # one per label set, as prometheus_client writes them


async def test_a_request_in_flight_is_counted_until_it_is_answered(client: AppClient) -> None:
    """The body arrives in two parts; between them the request is in flight."""
    body = b'{"instances": [[6.8, 2.8, 4.8, 1.4]]}'
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        b"POST /v1/models/sklearn-iris:predict HTTP/1.1\r\nHost: t\r\n"
        b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )
    await writer.drain()
    gauge = 'inference_requests_in_flight{model_name="sklearn-iris",protocol="v1"}'
    for _ in range(100):  # until the server has read the headers
        text = await (await client.get("/metrics")).text()
        if f"{gauge} 1.0" in text:
            break
        await asyncio.sleep(0.01)
    assert f"{gauge} 1.0" in text
    writer.write(body[10:])
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()
    text = await (await client.get("/metrics")).text()
    assert f"{gauge} 0.0" in text
    assert "# TYPE inference_requests_in_flight gauge" in text


async def test_unknown_models_leave_no_in_flight_series(client: AppClient) -> None:
    tensor = {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [6.8, 2.8, 4.8, 1.4]}
    resp = await client.post("/v2/models/no-such-model/infer", json={"inputs": [tensor]})
    assert resp.status == 404
    text = await (await client.get("/metrics")).text()
    assert "no-such-model" not in text
