"""The tutorial's sklearn-iris through the cluster's gateway, as its architecture ends: "end
users access via Ingress URL". No port-forward: curl on the host sends the host of the
InferenceService's status.url to the gateway's loopback port (Traefik, `make cluster-up`).
Gateway API mode, canaries and rollouts are in test_tutorial_gateway_api.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import joblib
from e2e_gateway import IRIS_ROW, ROUTED_WITHIN, request, routed
from e2e_kube import Cli, wait_for
from e2e_steps import Applied
from e2e_timeline import Timeline


def url_host(isvc: Applied) -> str:
    host = urlsplit(str(isvc.ready["status"]["url"])).hostname
    assert host, isvc.ready["status"]
    return host


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
