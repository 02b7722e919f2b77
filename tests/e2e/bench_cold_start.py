"""The cold-start benchmark: an InferenceService at zero pods, one prediction through the
gateway, first request -> answer; TRIALS times (COLD_START_TRIALS, default 10), p50 reported.

Not collected by `pytest tests/e2e` (no `test_` file name): `make bench-cold-start` runs it on
its own cluster (hack/e2e.sh with E2E_SUITES=cold-start, CLUSTER_AUTOSCALING=1).

Each trial watches the predictor's pod and its Service's EndpointSlices from the request on and
cuts the time into bench/phases.py's phases (shared with the apply -> first answer benchmark):
here "controller" is the wake-up (the activator holds the request, KEDA polls it every second
and scales the Deployment, the ReplicaSet makes the pod) and "answer" the activator's share
(the endpoint ready -> its probe connects -> the request forwarded and answered).
Results: bench/results/cold-start-<UTC time>.json and .md.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes
import pytest
from e2e_gateway import IRIS_ROW, address
from e2e_kube import Cli, diagnose, wait_for
from e2e_steps import FIXTURES, Applied, Install, apply_and_wait
from e2e_timeline import Timeline

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import phases  # noqa: E402

NS = "cold-start"  # fixtures/keda-cold-start.yaml
NAME = "sklearn-iris"
PREDICTOR = f"{NAME}-predictor"
TRIALS = int(os.environ.get("COLD_START_TRIALS", "10"))
RESULTS = REPO / "bench" / "results"
GOAL_SECONDS = 5.0


class Watching:
    """A watch on a thread, feeding each object (as the API's JSON) to `seen` with its arrival
    time, until stopped."""

    def __init__(
        self, api: Any, lister: Callable[..., Any], seen: Callable[[Any, float], None], **kw: Any
    ):
        self.api, self.lister, self.seen, self.kw = api, lister, seen, kw
        self._watch = kubernetes.watch.Watch()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for event in self._watch.stream(self.lister, NS, timeout_seconds=180, **self.kw):
            if event["type"] != "DELETED":
                self.seen(self.api.sanitize_for_serialization(event["object"]), time.time())

    def __enter__(self) -> Watching:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._watch.stop()
        self._thread.join(timeout=10)


def predict(url: str, host: str) -> tuple[int, str]:
    body = json.dumps({"instances": [IRIS_ROW]}).encode()
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Host": host, "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.status, resp.read().decode()


def at_zero(cli: Cli) -> bool:
    deployment = cli.json("get", "deployment", PREDICTOR, "-n", NS)
    pods = cli.json("get", "pods", "-n", NS, "-l", f"app=isvc.{PREDICTOR}")["items"]
    return deployment["spec"].get("replicas") == 0 and not pods


@pytest.fixture(scope="module")
def cold(cli: Cli, kserve: Install, environment_ready: None) -> Iterator[Applied]:
    applied = apply_and_wait(
        cli, FIXTURES / "keda-cold-start.yaml", name=NAME, namespace=NS, what="cold-start"
    )
    yield applied
    cli.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false", check=False)


def one_trial(cli: Cli, api: Any, url: str, host: str) -> phases.Timeline:
    core, discovery = kubernetes.client.CoreV1Api(api), kubernetes.client.DiscoveryV1Api(api)
    pods = {"label_selector": f"app=isvc.{PREDICTOR}"}
    slices = {"label_selector": f"kubernetes.io/service-name={PREDICTOR}"}
    lock = threading.Lock()
    timeline = phases.Timeline(start=0.0)

    def pod_seen(obj: Any, at: float) -> None:
        with lock:
            phases.observe_pod(timeline, obj, at)

    def slice_seen(obj: Any, at: float) -> None:
        with lock:
            phases.observe_slice(timeline, obj, at)

    with (
        Watching(api, core.list_namespaced_pod, pod_seen, **pods),
        Watching(api, discovery.list_namespaced_endpoint_slice, slice_seen, **slices),
    ):
        time.sleep(0.5)  # both watches open
        timeline.start = time.time()
        status, text = predict(url, host)
        answered = time.time()
        assert status == 200 and json.loads(text)["predictions"] == [1], text
        wait_for(
            "the watch to see the pod Ready", lambda: "pod_ready" in timeline.marks, timeout=30
        )
    with lock:
        timeline.mark("answered", answered)
    log = cli.kubectl(
        "logs", timeline.pod, "-n", NS, "-c", phases.SERVER, "--timestamps", echo=False
    )
    phases.model_ready_from_log(timeline, log)
    return timeline


def test_cold_start_from_zero(cli: Cli, cold: Applied, timeline: Timeline) -> None:
    gateway = address(cli)
    assert gateway
    url = f"{gateway}/v1/models/{NAME}:predict"
    isvc = cli.json("get", "inferenceservice", NAME, "-n", NS)
    host = urlsplit(isvc["status"]["url"]).hostname or ""
    api = kubernetes.config.new_client_from_config(str(cli.kubeconfig))
    trials: list[phases.Timeline] = []
    for n in range(TRIALS):
        try:
            wait_for("the predictor at zero pods", lambda: at_zero(cli), timeout=180, every=1)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{diagnose(cli, NS)}") from err
        time.sleep(2)  # KEDA and the activator settle at zero
        trial = one_trial(cli, api, url, host)
        trials.append(trial)
        spans = trial.phases()
        print(
            f"cold start {n + 1}/{TRIALS}: " + ", ".join(f"{k} {v:.2f}s" for k, v in spans.items())
        )
    summary = phases.summarize(trials)
    timeline.add(
        f"cold start from zero, first request -> answer (p50 of {TRIALS})", summary["total"]["p50"]
    )
    write(trials, summary)
    assert all("answered" in t.marks for t in trials)


def write(trials: list[phases.Timeline], summary: dict[str, dict[str, float]]) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    doc = {
        "trials": [t.phases() for t in trials],
        "summary": summary,
        "goal_seconds": GOAL_SECONDS,
        "load": load,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"cold-start-{stamp}.json").write_text(json.dumps(doc, indent=2) + "\n")
    text = "\n".join(
        [
            f"# Cold start from zero ({stamp}, {len(trials)} trials, load {load})",
            "",
            "sklearn iris, autoscalerClass keda + minReplicas 0, one V1 prediction through the "
            f"gateway and the activator: first request -> answer (goal p50 <= {GOAL_SECONDS:g} s). "
            "controller = the wake-up (activator -> KEDA -> Deployment -> pod); answer = the "
            "activator's share after the endpoint is ready.",
            "",
            phases.markdown(summary),
        ]
    )
    (RESULTS / f"cold-start-{stamp}.md").write_text(text + "\n")
    print(text)
