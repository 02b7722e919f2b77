"""The cold-start benchmark: an InferenceService at zero pods, one prediction through the
gateway, first request -> answer; TRIALS times (COLD_START_TRIALS, default 10), p50 reported.

Not collected by `pytest tests/e2e` (no `test_` file name): `make bench-cold-start` runs it on
its own cluster (hack/e2e.sh with E2E_SUITES=cold-start, CLUSTER_AUTOSCALING=1).

Each trial watches the predictor's pod from the request on and takes, for every phase, the
moment the watch first shows it (the API's own timestamps have a one-second resolution):
  wake           request sent -> pod created (the activator holds it; KEDA polls the activator
                 every second, scales the Deployment; the ReplicaSet makes the pod)
  scheduling     pod created -> bound to the node
  sandbox        bound -> storage initializer running (pod sandbox, network, image present)
  storage        storage initializer running -> done (the model downloaded)
  server start   initializer done -> model server container running
  readiness      container running -> pod Ready (model load, the readiness probe)
  activator      pod Ready -> answer (endpoints to kube-proxy, the activator's probe, predict)
Results: bench/results/cold-start-<UTC time>.json and .md.
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes
import pytest
from e2e_gateway import IRIS_ROW, address
from e2e_kube import Cli, diagnose, wait_for
from e2e_steps import FIXTURES, Applied, Install, apply_and_wait
from e2e_timeline import Timeline

NS = "cold-start"  # fixtures/keda-cold-start.yaml
NAME = "sklearn-iris"
PREDICTOR = f"{NAME}-predictor"
TRIALS = int(os.environ.get("COLD_START_TRIALS", "10"))
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
PHASES = ("created", "scheduled", "init_running", "init_done", "main_running", "ready")
SPANS = [
    ("wake", "sent", "created"),
    ("scheduling", "created", "scheduled"),
    ("sandbox", "scheduled", "init_running"),
    ("storage", "init_running", "init_done"),
    ("server start", "init_done", "main_running"),
    ("readiness", "main_running", "ready"),
    ("activator", "ready", "answered"),
]
GOAL_SECONDS = 5.0


def seen(pod: Any) -> set[str]:
    """The phases a pod object shows."""
    out = {"created"}
    if pod.spec.node_name:
        out.add("scheduled")
    for status in pod.status.init_container_statuses or []:
        state = status.state
        if state.running or state.terminated:
            out.add("init_running")
        if state.terminated and state.terminated.exit_code == 0:
            out.add("init_done")
    for status in pod.status.container_statuses or []:
        if status.name == "kserve-container" and (status.state.running or status.started):
            out.add("main_running")
    if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
        out.add("ready")
    return out


class PodWatch:
    """The predictor's pods watched on a thread; the first time each phase is seen."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.times: dict[str, float] = {}
        self._watch = kubernetes.watch.Watch()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._listening = threading.Event()

    def _run(self) -> None:
        stream = self._watch.stream(
            self.core.list_namespaced_pod,
            NS,
            label_selector=f"app=isvc.{PREDICTOR}",
            timeout_seconds=180,
        )
        self._listening.set()
        for event in stream:
            now = time.monotonic()
            if event["type"] == "DELETED":
                continue
            for phase in seen(event["object"]):
                self.times.setdefault(phase, now)
            if "ready" in self.times:
                self._watch.stop()

    def __enter__(self) -> PodWatch:
        self._thread.start()
        self._listening.wait(10)
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


def test_cold_start_from_zero(cli: Cli, cold: Applied, timeline: Timeline) -> None:
    gateway = address(cli)
    assert gateway
    url = f"{gateway}/v1/models/{NAME}:predict"
    isvc = cli.json("get", "inferenceservice", NAME, "-n", NS)
    host = urlsplit(isvc["status"]["url"]).hostname or ""
    core = kubernetes.client.CoreV1Api(
        kubernetes.config.new_client_from_config(str(cli.kubeconfig))
    )
    trials: list[dict[str, float]] = []
    for n in range(TRIALS):
        try:
            wait_for("the predictor at zero pods", lambda: at_zero(cli), timeout=180, every=1)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{diagnose(cli, NS)}") from err
        time.sleep(2)  # KEDA and the activator settle at zero
        with PodWatch(core) as watch:
            sent = time.monotonic()
            status, text = predict(url, host)
            answered = time.monotonic()
            assert status == 200 and json.loads(text)["predictions"] == [1], text
            wait_for("the watch to see the pod Ready", lambda: "ready" in watch.times, timeout=30)
        times = {"sent": sent, "answered": answered, **watch.times}
        row = {"total": answered - sent}
        for span, start, end in SPANS:
            if start in times and end in times:
                row[span] = times[end] - times[start]
        trials.append(row)
        print(f"cold start {n + 1}/{TRIALS}: " + ", ".join(f"{k} {v:.2f}s" for k, v in row.items()))
    p50 = {
        key: statistics.median(t[key] for t in trials if key in t)
        for key in ["total", *(s for s, _, _ in SPANS)]
    }
    timeline.add(f"cold start from zero, first request -> answer (p50 of {TRIALS})", p50["total"])
    write(trials, p50)
    assert p50["total"] > 0


def write(trials: list[dict[str, float]], p50: dict[str, float]) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    doc = {"trials": trials, "p50": p50, "goal_seconds": GOAL_SECONDS, "load": load}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"cold-start-{stamp}.json").write_text(json.dumps(doc, indent=2) + "\n")
    spans = ["total", *(s for s, _, _ in SPANS)]
    lines = [
        f"# Cold start from zero ({stamp}, {len(trials)} trials, load {load})",
        "",
        "sklearn iris, keda + minReplicas 0, through the gateway and the activator; first "
        f"request -> answer, goal p50 <= {GOAL_SECONDS:g} s.",
        "",
        "| trial | " + " | ".join(spans) + " |",
        "|---|" + "---|" * len(spans),
    ]
    for n, row in enumerate(trials, 1):
        cells = [f"{row[s]:.2f}" if s in row else "-" for s in spans]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("| **p50** | " + " | ".join(f"**{p50[s]:.2f}**" for s in spans) + " |")
    (RESULTS / f"cold-start-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
