"""`make bench-first-answer` (not collected by `pytest tests/e2e`: its name is not test_*):
`kubectl apply` → the first prediction through the gateway, for ten new InferenceServices
applied one after another on warm images (the tutorial's iris is served first), each start cut
into phases by bench/phases.py from what a watch of its pod and its Service's EndpointSlices and
the server's log show. The figures go to the e2e time line and bench/results/first-answer-*.md.
Nothing is timed against a goal here (issue 21's goals are read from the results); each start
must answer the right prediction and show every phase.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import kubernetes.client
import kubernetes.config
import kubernetes.watch
from e2e_gateway import IRIS_ROW
from e2e_kube import REPO, Cli
from e2e_steps import Applied, restricted_namespace
from e2e_timeline import Timeline

sys.path.insert(0, str(REPO))

from bench import phases

NAMESPACE = "first-answer"
RUNS = int(os.environ.get("E2E_FIRST_ANSWER_RUNS", "10"))
ANSWER_WITHIN = 180.0  # seconds; measured 4-7 s warm on this 2-core machine
RESULTS = REPO / "bench" / "results"
ISVC = """apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {name}
  namespace: {namespace}
spec:
  predictor:
    model:
      modelFormat:
        name: sklearn
      storageUri: "gs://kfserving-examples/models/sklearn/1.0/model"
      resources:
        requests:
          cpu: "100m"
          memory: "512Mi"
        limits:
          cpu: "1"
          memory: "1Gi"
"""


@contextmanager
def watching(
    api: kubernetes.client.ApiClient, timeline: phases.Timeline, name: str
) -> Iterator[None]:
    """Feeds the predictor pod's and its Service's EndpointSlices' events to the timeline."""
    core, discovery = kubernetes.client.CoreV1Api(api), kubernetes.client.DiscoveryV1Api(api)
    streams = [
        (
            core.list_namespaced_pod,
            f"serving.kserve.io/inferenceservice={name}",
            phases.observe_pod,
        ),
        (
            discovery.list_namespaced_endpoint_slice,
            f"kubernetes.io/service-name={name}-predictor",
            phases.observe_slice,
        ),
    ]
    watches = [kubernetes.watch.Watch() for _ in streams]
    started = threading.Barrier(len(streams) + 1)

    def follow(watch: kubernetes.watch.Watch, list_call: Any, selector: str, observe: Any) -> None:
        # plain JSON throughout: the client's models refuse an EndpointSlice without endpoints
        listed = list_call(NAMESPACE, label_selector=selector, _preload_content=False)
        version = json.loads(listed.data)["metadata"]["resourceVersion"]
        started.wait()
        for event in watch.stream(
            list_call,
            NAMESPACE,
            label_selector=selector,
            resource_version=version,
            timeout_seconds=int(ANSWER_WITHIN) + 30,
            deserialize=False,
        ):
            observe(timeline, event["object"], time.time())

    threads = [
        threading.Thread(target=follow, args=(w, *stream), daemon=True)
        for w, stream in zip(watches, streams, strict=True)
    ]
    for thread in threads:
        thread.start()
    started.wait(timeout=30)
    try:
        yield
    finally:
        for watch in watches:
            watch.stop()


def predict(url: str, *, host: str) -> Any | None:
    body = json.dumps({"instances": [IRIS_ROW]}).encode()
    headers = {"Host": host, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return None  # not routed yet (404), no endpoint yet (502/503), or not listening


def one_start(
    cli: Cli, api: kubernetes.client.ApiClient, gateway: str, name: str, tmp_path: Path
) -> tuple[phases.Timeline, Any]:
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(ISVC.format(name=name, namespace=NAMESPACE))
    url = f"{gateway}/v1/models/{name}:predict"
    host = f"{name}-{NAMESPACE}.example.com"
    timeline = phases.Timeline(start=0.0)
    with watching(api, timeline, name):
        timeline.start = time.time()
        cli.kubectl("apply", "-f", str(manifest))
        answer = None
        while answer is None and time.time() - timeline.start < ANSWER_WITHIN:
            answer = predict(url, host=host)
            if answer is None:
                time.sleep(0.05)
        timeline.mark("answered", time.time())
        deadline = time.time() + 10  # the watch may trail the gateway's own view by a moment
        while "endpoint_ready" not in timeline.marks and time.time() < deadline:
            time.sleep(0.05)
    assert answer is not None, f"{name}: no answer within {ANSWER_WITHIN} s: {timeline.marks}"
    log = cli.kubectl(
        "logs", "--timestamps", "-n", NAMESPACE, timeline.pod, "-c", "kserve-container", echo=False
    )
    phases.model_ready_from_log(timeline, log, model=name)
    return timeline, answer


def test_apply_to_first_answer_in_phases(
    cli: Cli,
    iris: Applied,  # the tutorial's model first: images pulled, the model store up
    gateway: str,
    models: Path,
    timeline: Timeline,
) -> None:
    api = kubernetes.config.new_client_from_config(config_file=str(cli.kubeconfig))
    tmp_path = Path(tempfile.mkdtemp(prefix="first-answer-"))
    expected = joblib.load(models / "sklearn-iris" / "model.joblib").predict([IRIS_ROW]).tolist()
    restricted_namespace(cli, NAMESPACE)
    starts = []
    try:
        for k in range(RUNS):
            name = f"first-answer-{k}"
            start, answer = one_start(cli, api, gateway, name, tmp_path)
            cli.kubectl("delete", "inferenceservice", name, "-n", NAMESPACE, "--wait=false")
            assert answer == {"predictions": expected}
            missing = [m for m in phases.MARKS if m not in start.marks]
            assert not missing, f"{name}: phases not seen: {missing} ({start.marks})"
            print(f"[first answer] {name}: {start.phases()}", flush=True)
            starts.append(start)
    finally:
        cli.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
    summary = phases.summarize(starts)
    ready_to_endpoint = [s.marks["endpoint_ready"] - s.marks["model_ready"] for s in starts]
    to_endpoint = phases.percentiles(ready_to_endpoint)
    total = summary["total"]
    timeline.add(f"apply -> first answer, p50 of {RUNS} (p95 {total['p95']:.1f} s)", total["p50"])
    timeline.add(
        f"model ready -> ready endpoint, p95 of {RUNS} (p50 {to_endpoint['p50']:.2f} s)",
        to_endpoint["p95"],
    )
    write_results(summary, to_endpoint, starts)


def write_results(
    summary: dict[str, dict[str, float]],
    to_endpoint: dict[str, float],
    starts: list[phases.Timeline],
) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = "\n".join(
        [
            "# apply → first answer on the local cluster (tests/e2e/bench_first_answer.py)",
            "",
            f"Run {when}: {len(starts)} sklearn iris InferenceServices applied one after "
            "another (the previous one deleted), warm images, first answer through the gateway "
            f"(Traefik, Host header); load average {load} at the end. Phases by bench/phases.py. "
            "Goals (issue 21): total p50 ≤ 5 s; model ready → ready endpoint p95 ≤ 1 s.",
            "",
            phases.markdown(summary),
            "",
            "| model ready → ready endpoint | n | p50 s | p95 s |",
            "| --- | ---: | ---: | ---: |",
            f"| readiness + endpoints | {to_endpoint['n']:.0f} | {to_endpoint['p50']:.2f} "
            f"| {to_endpoint['p95']:.2f} |",
            "",
        ]
    )
    data = {
        "when": when,
        "load_average": load,
        "summary": summary,
        "model_ready_to_endpoint": to_endpoint,
        "starts": [start.phases() for start in starts],
    }
    stamp = when.replace("-", "").replace(":", "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in ("first-answer-latest", f"first-answer-{stamp}"):
        (RESULTS / f"{name}.md").write_text(text)
        (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
