"""Prometheus /metrics: upstream's stage histograms and per-protocol request counts, per app."""

from __future__ import annotations

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


async def test_openmetrics_on_request(client: AppClient) -> None:
    resp = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert resp.content_type == "application/openmetrics-text"
    assert (await resp.text()).rstrip().endswith("# EOF")


async def test_openapi_document_is_served(client: AppClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert "/v2/models/{name}/infer" in doc["paths"]
    assert "InferenceRequest" in doc["components"]["schemas"]
