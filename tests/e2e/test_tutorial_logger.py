"""Payload logging and batching on the cluster: upstream's logger sample posts a request and a
response CloudEvent per prediction to its message-dumper (one of ours, in namespace default),
upstream's batcher fields answer 16 concurrent requests each with its own prediction, and a
custom container with a logger gets the `agent` sidecar, which logs too."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import joblib
import pytest
from e2e_kube import Cli, diagnose, port_forward, rel, wait_for
from e2e_steps import FIXTURES, Applied, Install, apply_and_wait
from e2e_timeline import Timeline

NS = "logger"  # fixtures/logger.yaml
REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"
# Iris rows of the three classes (setosa, versicolor, virginica).
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.8, 2.8, 4.8, 1.4], [7.7, 3.0, 6.1, 2.3]]


@pytest.fixture(scope="module")
def expected(models: Path) -> list[int]:
    """What the model served here predicts for ROWS, computed locally."""
    model = joblib.load(models / "sklearn-iris" / "model.joblib")
    return [int(p) for p in model.predict(ROWS)]


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture(scope="module")
def dumper(cli: Cli, kserve: Install) -> Iterator[None]:
    cli.kubectl("apply", "-f", rel(FIXTURES / "message-dumper.yaml"))
    yield
    cli.kubectl("delete", "-f", rel(FIXTURES / "message-dumper.yaml"), "--wait=false", check=False)


@pytest.fixture(scope="module")
def applied(
    cli: Cli, kserve: Install, environment_ready: None, dumper: None, timeline: Timeline
) -> Iterator[dict[str, Applied]]:
    """The three InferenceServices applied at once (their pods start side by side), then each
    waited on until Ready."""
    t0 = time.monotonic()
    if not cli.kubectl("get", "namespace", NS, "--ignore-not-found").strip():
        cli.kubectl("create", "namespace", NS)
    cli.kubectl("apply", "-f", rel(FIXTURES / "logger.yaml"))
    names = ("sklearn-iris", "sklearn-batcher", "custom-logged")
    yield {
        name: apply_and_wait(cli, FIXTURES / "logger.yaml", name=name, namespace=NS, what=name)
        for name in names
    }
    timeline.add("logger: three InferenceServices Ready and answered", time.monotonic() - t0)
    cli.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false", check=False)


def events_of(cli: Cli, isvc: str, count: int) -> list[dict[str, Any]]:
    """The dumper's events for one InferenceService, once there are `count` of them."""
    cli.kubectl("rollout", "status", "deployment/message-dumper", "-n", "default", "--timeout=2m")
    with port_forward(cli, "default", "svc/message-dumper", 80) as port:

        def enough() -> list[dict[str, Any]] | None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/events", timeout=10) as resp:
                events = json.loads(resp.read())
            mine = [e for e in events if e["headers"].get("ce-inferenceservicename") == isvc]
            return mine if len(mine) >= count else None

        return wait_for(f"{count} CloudEvents from {isvc}", enough, timeout=60)


def predict(cli: Cli, name: str, bodies: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """POST each body to the predictor's Service through port-forward, all at once."""
    with port_forward(cli, NS, f"svc/{name}-predictor", 80) as port:
        url = f"http://127.0.0.1:{port}/v1/models/{name}:predict"
        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(lambda body: post(url, body), bodies))


def assert_pair(events: list[dict[str, Any]], *, isvc: str) -> None:
    """One request and one response event, sharing a ce-id, with upstream's extensions."""
    by_type = {e["headers"]["ce-type"]: e for e in events}
    assert set(by_type) == {REQUEST, RESPONSE}, events
    request, response = by_type[REQUEST], by_type[RESPONSE]
    assert request["headers"]["ce-id"] == response["headers"]["ce-id"]
    for event in (request, response):
        headers = event["headers"]
        assert headers["ce-specversion"] == "1.0"
        assert headers["ce-inferenceservicename"] == isvc
        assert headers["ce-namespace"] == NS
        assert headers["ce-component"] == "predictor"
        assert headers["ce-endpoint"] == "default"
        assert headers.get("ce-source"), headers
    assert json.loads(request["body"])["instances"] == ROWS[1:2]
    assert "predictions" in json.loads(response["body"])


def test_logger_sample_posts_request_and_response_events_in_process(
    cli: Cli, applied: dict[str, Applied], expected: list[int]
) -> None:
    pod = cli.json("get", "pods", "-n", NS, "-l", "app=isvc.sklearn-iris-predictor")["items"][0]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["kserve-container"]  # no sidecar
    ((code, got),) = predict(cli, "sklearn-iris", [{"instances": ROWS[1:2]}])
    assert code == 200, got
    assert got["predictions"] == expected[1:2]
    assert_pair(events_of(cli, "sklearn-iris", 2), isvc="sklearn-iris")


def test_batcher_answers_16_concurrent_requests_each_with_its_own_prediction(
    cli: Cli, applied: dict[str, Applied], expected: list[int]
) -> None:
    assert len(set(expected)) == 3  # three classes: a mixed-up slice would show
    bodies = [{"instances": [ROWS[i % 3]]} for i in range(16)]
    answers = predict(cli, "sklearn-batcher", bodies)
    assert [code for code, _ in answers] == [200] * 16, answers
    assert [got["predictions"] for _, got in answers] == [[expected[i % 3]] for i in range(16)]
    batches = {got["batchId"] for _, got in answers}
    print(f"16 concurrent requests in {len(batches)} batch(es)")
    assert len(batches) < 16  # batched: requests shared model calls


def test_custom_container_with_a_logger_gets_the_agent_sidecar_which_logs(
    cli: Cli, applied: dict[str, Applied], expected: list[int]
) -> None:
    pod = cli.json("get", "pods", "-n", NS, "-l", "app=isvc.custom-logged-predictor")["items"][0]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["kserve-container", "agent"]
    service = cli.json("get", "service", "custom-logged-predictor", "-n", NS)
    assert service["spec"]["ports"][0]["targetPort"] == 9081
    ((code, got),) = predict(cli, "custom-logged", [{"instances": ROWS[1:2]}])
    assert code == 200, f"{got}\n{diagnose(cli, NS)}"
    assert got["predictions"] == expected[1:2]
    assert_pair(events_of(cli, "custom-logged", 2), isvc="custom-logged")
