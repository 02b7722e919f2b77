"""An InferenceGraph on the real cluster: the router pod in front of the tutorial's two models,
reached as a user would (`kubectl port-forward svc/<graph>`, `curl`), its Switch routing each
request to the model that understands it."""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pytest
from e2e_kube import Cli, condition, curl, diagnose, port_forward, rel, wait_for, writable
from e2e_steps import FIXTURES, READY_WITHIN, Install, restricted_namespace
from e2e_timeline import Timeline

NS = "graph"
GRAPH = "tutorial-models"
MODELS = ("sklearn-iris", "intent-classifier")
JSON = ("-H", "Content-Type: application/json")


@pytest.fixture(scope="module")
def graph(cli: Cli, kserve: Install, environment_ready: None, timeline: Timeline) -> Iterator[Any]:
    restricted_namespace(cli, NS)
    t0 = time.monotonic()
    cli.kubectl("apply", "-f", rel(FIXTURES / "graph.yaml"))

    def ready() -> Any:
        ig = cli.json("get", "inferencegraph", GRAPH, "-n", NS)
        return ig if condition(ig, "Ready").get("status") == "True" else None

    try:
        yield wait_for(f"{NS}/{GRAPH} Ready", ready, timeout=READY_WITHIN, every=2)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cli, NS)}") from err
    finally:
        timeline.add("InferenceGraph: kubectl apply -> READY True", time.monotonic() - t0)
        cli.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false", check=False)


def test_the_graph_is_listed_ready_with_a_url(cli: Cli, graph: Any) -> None:
    assert graph["status"].get("url"), graph["status"]
    table = cli.kubectl("get", "ig", "-n", NS)
    assert GRAPH in table and "True" in table, table
    router = cli.json("get", "deployment", GRAPH, "-n", NS)
    pod = router["spec"]["template"]["spec"]
    assert pod["securityContext"].get("runAsNonRoot") or pod["containers"][0].get(
        "securityContext", {}
    ).get("runAsNonRoot"), "the router pod must run as non-root"
    # admitted in a namespace enforcing "restricted"; its image is read-only to it
    labels = cli.json("get", "namespace", NS)["metadata"].get("labels") or {}
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels
    probed = writable(cli, NS, f"deploy/{GRAPH}", "/", "/opt/app")
    assert probed == {"/": "Read-only file system", "/opt/app": "Read-only file system"}


def test_the_switch_routes_each_request_to_its_model(
    cli: Cli, graph: Any, models: Path, timeline: Timeline
) -> None:
    iris_row = [6.8, 2.8, 4.8, 1.4]
    sentence = "Hi, how are you?"
    iris = joblib.load(models / "sklearn-iris" / "model.joblib")
    with (models / "intent-classifier" / "intent_model.pkl").open("rb") as handle:
        intent = pickle.load(handle)  # the model this test trained itself
    with port_forward(cli, NS, f"svc/{GRAPH}", 80) as port:
        t0 = time.monotonic()
        url = f"http://localhost:{port}/"

        def routed(body: dict[str, Any]) -> Any:
            # the models' Services are reached through kube-proxy, which may still be
            # programming them when the graph turns Ready: the router answers 502 until then
            answer = curl(cli, "-s", url, *JSON, "-d", json.dumps(body))
            return answer if "predictions" in answer else None

        rows = wait_for(
            "the iris row routed", lambda: routed({"instances": [iris_row]}), timeout=60
        )
        text = wait_for(
            "the sentence routed", lambda: routed({"instances": [sentence]}), timeout=60
        )
        timeline.add(
            "InferenceGraph: port-forward -> two routed predictions", time.monotonic() - t0
        )
    assert rows == {"predictions": iris.predict([iris_row]).tolist()}
    assert text == {"predictions": intent.predict([sentence]).tolist()}


def test_the_graph_waits_for_and_names_its_models(cli: Cli, graph: Any) -> None:
    args = cli.json("get", "deployment", GRAPH, "-n", NS)["spec"]["template"]["spec"]["containers"][
        0
    ]["args"]
    spec = json.loads(args[args.index("--graph-json") + 1])
    urls = [step.get("serviceUrl", "") for step in spec["nodes"]["root"]["steps"]]
    for model, step_url in zip(MODELS, urls, strict=True):
        assert f"{model}-predictor.{NS}" in step_url and f"/v1/models/{model}:predict" in step_url
