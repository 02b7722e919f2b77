"""Scale to zero and back (`autoscalerClass: keda`, `minReplicas: 0`): idle, the predictor goes
to zero pods and the InferenceService stays Ready (reason ScaledToZero); then a burst of 20
concurrent predictions through the gateway is answered in full while it starts again: the
activator holds them until the pod is ready. The cold start (first request -> its answer) goes
into the e2e time line."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_gateway import IRIS_ROW, address
from e2e_kube import Cli, condition, diagnose, wait_for
from e2e_steps import FIXTURES, Applied, Install, apply_and_wait
from e2e_timeline import Timeline

NS = "scale-to-zero"  # fixtures/keda-scale-to-zero.yaml
NAME = "sklearn-iris"
PREDICTOR = f"{NAME}-predictor"
BURST = 20
# Waits, not timed asserts: 20 s idle, KEDA's 1 s poll, the pod's 35 s grace on 2 shared cores.
ZERO_WITHIN = 180.0
ANSWERED_WITHIN = 90.0  # the activator holds a request 60 s; the client waits longer


@dataclass
class Burst:
    started: float  # time.monotonic() when the first request was sent
    answers: list[tuple[int, str, float]] = field(default_factory=list)  # status, body, seconds

    @property
    def first_answer(self) -> float:
        """Seconds from sending to the first 200 (nan without one)."""
        answered = [seconds for status, _, seconds in self.answers if status == 200]
        return min(answered) if answered else float("nan")


def send(url: str, host: str, burst: Burst, lock: threading.Lock) -> None:
    body = json.dumps({"instances": [IRIS_ROW]}).encode()
    headers = {"Host": host, "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=ANSWERED_WITHIN) as resp:
            answer = (resp.status, resp.read().decode())
    except urllib.error.HTTPError as err:
        answer = (err.code, err.read().decode())
    except OSError as err:  # reset, refused, timed out: a lost request
        answer = (0, str(err))
    with lock:
        burst.answers.append((*answer, time.monotonic() - t0))


def pods(cli: Cli) -> list[dict[str, Any]]:
    found = cli.json("get", "pods", "-n", NS, "-l", f"app=isvc.{PREDICTOR}")
    return list(found["items"])


@pytest.fixture(scope="module")
def sleepy(cli: Cli, kserve: Install, environment_ready: None) -> Iterator[Applied]:
    applied = apply_and_wait(
        cli, FIXTURES / "keda-scale-to-zero.yaml", name=NAME, namespace=NS, what="scale-to-zero"
    )
    yield applied
    cli.kubectl("delete", "inferenceservice", NAME, "-n", NS, "--ignore-not-found", check=False)
    cli.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture(scope="module")
def at_zero(cli: Cli, sleepy: Applied, timeline: Timeline) -> dict[str, Any]:
    """Waits for zero pods; the InferenceService then."""
    t0 = time.monotonic()

    def gone() -> bool:
        deployment = cli.json("get", "deployment", PREDICTOR, "-n", NS)
        return deployment["spec"].get("replicas") == 0 and not pods(cli)

    try:
        wait_for("the predictor at zero pods", gone, timeout=ZERO_WITHIN, every=2)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cli, NS)}") from err
    timeline.add("scale-to-zero: Ready -> zero pods (20 s idle)", time.monotonic() - t0)
    return dict(cli.json("get", "inferenceservice", NAME, "-n", NS))


@pytest.fixture(scope="module")
def burst(cli: Cli, at_zero: dict[str, Any], timeline: Timeline) -> Burst:
    gateway = address(cli)
    assert gateway, "no gateway hostPort on the cluster (make cluster-up runs Traefik)"
    host = urlsplit(at_zero["status"]["url"]).hostname or ""
    url = f"{gateway}/v1/models/{NAME}:predict"
    result = Burst(started=time.monotonic())
    lock = threading.Lock()
    threads = [threading.Thread(target=send, args=(url, host, result, lock)) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=ANSWERED_WITHIN + 10)
    timeline.add("scale-to-zero: first request -> answer (cold start)", result.first_answer)
    timeline.add(
        f"scale-to-zero: {BURST} concurrent requests -> all answered",
        max(s for _, _, s in result.answers) if result.answers else float("nan"),
    )
    return result


def test_idle_predictor_reaches_zero_pods_and_stays_ready(at_zero: dict[str, Any]) -> None:
    assert condition(at_zero, "Ready").get("status") == "True", at_zero["status"]
    predictor = condition(at_zero, "PredictorReady")
    assert predictor.get("reason") == "ScaledToZero", predictor
    assert "activator holds requests" in predictor.get("message", ""), predictor


def test_burst_of_20_at_zero_is_answered_in_full(cli: Cli, burst: Burst) -> None:
    failed = [(status, body[:200]) for status, body, _ in burst.answers if status != 200]
    assert len(burst.answers) == BURST, burst.answers
    assert not failed, f"{len(failed)} of {BURST} failed: {failed}\n{diagnose(cli, NS)}"
    predictions = {json.loads(body)["predictions"][0] for _, body, _ in burst.answers}
    assert predictions == {1}, predictions  # IRIS_ROW is versicolor
    assert pods(cli), "answered, yet no predictor pod"


def test_the_scaled_object_wakes_on_the_activator(cli: Cli, burst: Burst) -> None:
    so = cli.json("get", "scaledobject", PREDICTOR, "-n", NS)
    (trigger,) = so["spec"]["triggers"]
    assert trigger["type"] == "metrics-api"
    assert trigger["metadata"]["url"].endswith(f"/load/{NS}/{PREDICTOR}")
    assert (so["spec"]["minReplicaCount"], so["spec"]["cooldownPeriod"]) == (0, 20)
    assert condition(so, "Ready").get("status") == "True", so["status"]
