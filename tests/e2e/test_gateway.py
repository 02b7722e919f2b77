"""The tutorial's sklearn-iris through the cluster's gateway, as its architecture ends: "end
users access via Ingress URL". No port-forward: curl on the host sends the host of the
InferenceService's status.url to the gateway's loopback port (Traefik, `make cluster-up`)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import joblib
import pytest
from e2e_kube import Cli, tool, wait_for
from e2e_steps import Applied
from e2e_timeline import Timeline

IRIS_ROW = [6.8, 2.8, 4.8, 1.4]
# Traefik sees the Ingress within its provider's throttle (about 2 s); doubled and more
ROUTED_WITHIN = 60.0


@pytest.fixture(scope="session")
def gateway(cli: Cli) -> str:
    """http://127.0.0.1:<port>: the loopback host port of the cluster's gateway, as deployed."""
    found = cli.json(
        "get", "deployments", "-n", "kube-system", "-l", "app.kubernetes.io/name=traefik"
    )
    ports = [
        port
        for deployment in found["items"]
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports") or []
        if port.get("name") == "web" and port.get("hostPort")
    ]
    if not ports:
        pytest.fail(
            "this cluster has no gateway (deployment kube-system/traefik with a web hostPort): "
            "`make cluster-up` deploys it"
        )
    return f"http://{ports[0].get('hostIP', '127.0.0.1')}:{int(ports[0]['hostPort'])}"


def request(url: str, *, host: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    """`curl -s -H "Host: HOST" URL [-d BODY]` as a user types it: (HTTP status, body)."""
    argv = [tool("curl"), "-s", "-w", "\n%{http_code}", "-H", f"Host: {host}", url]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    print("$", " ".join(argv[:1] + argv[4:]), flush=True)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout
    text, _, code = out.rpartition("\n")
    return int(code or 0), text


def url_host(isvc: Applied) -> str:
    host = urlsplit(str(isvc.ready["status"]["url"])).hostname
    assert host, isvc.ready["status"]
    return host


def routed(url: str, *, host: str, body: dict[str, Any] | None = None) -> Any:
    """The JSON of the first 200 answer: the gateway takes a moment to see a new Ingress."""

    def answered() -> str | None:
        status, text = request(url, host=host, body=body)
        return text if status == 200 else None

    return json.loads(wait_for(f"{host} routed by the gateway", answered, timeout=ROUTED_WITHIN))


def test_sklearn_iris_predicts_through_the_gateway_by_its_url_host(
    iris: Applied, gateway: str, models: Path, timeline: Timeline
) -> None:
    expected = joblib.load(models / "sklearn-iris" / "model.joblib").predict([IRIS_ROW]).tolist()
    host = url_host(iris)
    assert host == "sklearn-iris-ml.example.com"  # the chart's domainTemplate and domain
    t0 = time.monotonic()
    body = routed(
        f"{gateway}/v1/models/sklearn-iris:predict", host=host, body={"instances": [IRIS_ROW]}
    )
    timeline.add("sklearn-iris: first prediction through the gateway", time.monotonic() - t0)
    assert body == {"predictions": expected}


def test_sklearn_iris_v2_through_the_gateway(iris: Applied, gateway: str, models: Path) -> None:
    expected = joblib.load(models / "sklearn-iris" / "model.joblib").predict([IRIS_ROW]).tolist()
    host = url_host(iris)
    assert routed(f"{gateway}/v2/models/sklearn-iris/ready", host=host)["ready"] is True
    infer = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]}
    body = routed(f"{gateway}/v2/models/sklearn-iris/infer", host=host, body=infer)
    assert body["outputs"][0]["data"] == expected


def test_the_ingress_shows_the_gateways_address(cli: Cli, iris: Applied, gateway: str) -> None:
    # `kubectl get ingress` ADDRESS: Traefik admitted the controller's Ingress and wrote where
    # it serves it
    def address() -> str | None:
        ingress = cli.json("get", "ingress", "sklearn-iris", "-n", "ml")
        lb = (ingress.get("status") or {}).get("loadBalancer") or {}
        return next((i.get("ip") for i in lb.get("ingress") or [] if i.get("ip")), None)

    assert wait_for("the Ingress's status address", address, timeout=ROUTED_WITHIN) == "127.0.0.1"


def test_an_unknown_host_is_not_routed(iris: Applied, gateway: str) -> None:
    host = url_host(iris)
    predict = f"{gateway}/v1/models/sklearn-iris:predict"
    routed(predict, host=host, body={"instances": [IRIS_ROW]})  # the gateway is serving
    status, _ = request(predict, host="nobody-ml.example.com", body={"instances": [IRIS_ROW]})
    assert status == 404
