"""The tutorial's sklearn-iris through the cluster's gateway, as its architecture ends: "end
users access via Ingress URL". No port-forward: curl on the host sends the host of the
InferenceService's status.url to the gateway's loopback port (Traefik, `make cluster-up`).

Then the same gateway in Gateway API mode, switched on with upstream's chart values: HTTPRoutes
by host and by path (pathTemplate), a spec.canary entry taking its share of 500 requests, and a
promotion and a rollback under steady load that lose no request.

Named to run after test_tutorial.py and before test_tutorial_lifecycle.py (pytest takes files in
name order): the mode switch restarts the controller, whose log test_tutorial.py reads, and the
lifecycle test deletes sklearn-iris, which this file sends requests to."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import joblib
import pytest
from e2e_kube import REPO, Cli, condition, diagnose, tool, wait_for
from e2e_steps import Applied, Install
from e2e_timeline import Timeline
from sklearn import datasets, tree

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


# -- Gateway API mode (upstream's chart values), path routing, a canary split ------------------

TRAFFIC_NS = "traffic"
CANARY_PERCENT = 20
CANARY_REQUESTS = 500
CANARY_TOLERANCE = 7  # percentage points
# What the canary model predicts for IRIS_ROW differs from the tutorial model's (1): trained
# on iris with every label shifted by one.
CANARY_URI = "gs://kfserving-examples/models/sklearn/canary/model"


def _chart() -> list[str]:
    version = next(
        line.split(":", 1)[1].strip()
        for line in (REPO / "charts/kserve/Chart.yaml").read_text().splitlines()
        if line.startswith("version:")
    )
    return ["oci://127.0.0.1:5000/charts/kserve", "--version", version, "--plain-http"]


@pytest.fixture(scope="module")
def gateway_api(
    cli: Cli, kserve: Install, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The kserve release upgraded to Gateway API mode with upstream's values (the chart makes
    the Gateway), path-based routing on; Ingress mode again afterwards."""
    values = tmp_path_factory.mktemp("gateway-api") / "values.yaml"
    values.write_text(
        "kserve:\n  controller:\n    gateway:\n"
        '      pathTemplate: "/serving/{{ .Namespace }}/{{ .Name }}"\n'
        "      ingressGateway: {enableGatewayApi: true, createGateway: true}\n"
    )
    upgrade = ["upgrade", "kserve", *_chart(), "-n", "kserve", "--reuse-values", "--wait"]
    cli.helm(*upgrade, "-f", str(values))
    cli.kubectl("create", "namespace", TRAFFIC_NS)
    yield
    cli.kubectl("delete", "namespace", TRAFFIC_NS, "--ignore-not-found", "--wait=false")
    restore = "kserve.controller.gateway.ingressGateway.enableGatewayApi=false"
    cli.helm(*upgrade, "--set", restore, "--set", "kserve.controller.gateway.pathTemplate=")


def _isvc(name: str, *, canary: bool = False) -> dict[str, Any]:
    model = {"modelFormat": {"name": "sklearn"},
             "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model"}  # fmt: skip
    spec: dict[str, Any] = {"predictor": {"model": model}}
    if canary:
        canary_model = {**model, "storageUri": CANARY_URI}
        spec["canary"] = [
            {"trafficPercent": CANARY_PERCENT, "predictor": {"name": "v2", "model": canary_model}}
        ]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": TRAFFIC_NS},
        "spec": spec,
    }


def _predict(url: str, *, host: str) -> int:
    """One V1 prediction for IRIS_ROW through the gateway (urllib: 500 of them take seconds)."""
    body = json.dumps({"instances": [IRIS_ROW]}).encode()
    headers = {"Host": host, "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(json.load(resp)["predictions"][0])


def _patch(cli: Cli, name: str, spec: dict[str, Any]) -> None:
    body = json.dumps({"spec": spec})
    cli.kubectl("patch", "inferenceservice", name, "-n", TRAFFIC_NS, "--type=merge", "-p", body)


def _gone(cli: Cli, kind: str, name: str) -> bool:
    found = cli.kubectl(
        "get", kind, name, "-n", TRAFFIC_NS, "--ignore-not-found", "-o", "name", echo=False
    )
    return not found.strip()


def _apply_ready(cli: Cli, obj: dict[str, Any], tmp: Path) -> dict[str, Any]:
    path = tmp / f"{obj['metadata']['name']}.json"
    path.write_text(json.dumps(obj))
    cli.kubectl("apply", "-f", str(path))
    name = obj["metadata"]["name"]

    def ready() -> dict[str, Any] | None:
        got = cli.json("get", "inferenceservice", name, "-n", TRAFFIC_NS)
        return got if condition(got, "Ready").get("status") == "True" else None

    try:
        return wait_for(f"{name} Ready (IngressReady from the HTTPRoutes)", ready, timeout=300)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cli, TRAFFIC_NS)}") from err


def test_gateway_api_mode_routes_by_host_and_by_path(
    cli: Cli, gateway_api: None, gateway: str, models: Path, tmp_path: Path
) -> None:
    expected = joblib.load(models / "sklearn-iris" / "model.joblib").predict([IRIS_ROW]).tolist()
    isvc = _apply_ready(cli, _isvc("iris-gw"), tmp_path)
    routes = cli.json("get", "httproutes", "-n", TRAFFIC_NS)["items"]
    assert sorted(r["metadata"]["name"] for r in routes) == ["iris-gw", "iris-gw-predictor"]
    assert not cli.kubectl("get", "ingress", "-n", TRAFFIC_NS, "-o", "name").strip()
    host = urlsplit(isvc["status"]["url"]).hostname
    assert host == f"iris-gw-{TRAFFIC_NS}.example.com"
    body = {"instances": [IRIS_ROW]}
    assert routed(f"{gateway}/v1/models/iris-gw:predict", host=host, body=body) == {
        "predictions": expected
    }
    # pathTemplate: the ingress domain answers under /serving/<namespace>/<name>; the server
    # receives /v1/models/iris-gw:predict (the prefix is stripped).
    path = f"{gateway}/serving/{TRAFFIC_NS}/iris-gw/v1/models/iris-gw:predict"
    assert routed(path, host="example.com", body=body) == {"predictions": expected}


def _upload_canary_model(cli: Cli) -> None:
    iris = datasets.load_iris()
    shifted = tree.DecisionTreeClassifier(random_state=0).fit(iris.data, (iris.target + 1) % 3)
    blob = io.BytesIO()
    joblib.dump(shifted, blob)
    name = CANARY_URI.split("/", 3)[3] + "/model.joblib"
    script = (
        "import base64, urllib.request\n"
        f"data = base64.b64decode({base64.b64encode(blob.getvalue()).decode()!r})\n"
        "url = ('http://127.0.0.1:9023/upload/storage/v1/b/kfserving-examples/o'"
        f" '?uploadType=media&name={name}')\n"
        "request = urllib.request.Request(url, data=data, method='POST')\n"
        "urllib.request.urlopen(request, timeout=10)\n"
    )
    cli.kubectl(
        "exec", "-n", "kserve-e2e", "deploy/gcs-emulator", "--", "python3", "-c", script,
        echo=False,
    )  # fmt: skip


def test_a_canary_takes_its_share_through_the_gateway(
    cli: Cli, gateway_api: None, gateway: str, tmp_path: Path, timeline: Timeline
) -> None:
    _upload_canary_model(cli)
    t0 = time.monotonic()
    isvc = _apply_ready(cli, _isvc("iris-canary", canary=True), tmp_path)

    def split() -> list[dict[str, Any]] | None:
        got = cli.json("get", "inferenceservice", "iris-canary", "-n", TRAFFIC_NS)
        statuses = got["status"].get("canaryStatuses") or []
        return statuses if [s.get("trafficPercent") for s in statuses] == [CANARY_PERCENT] else None

    wait_for("the canary ready and routed its share", split, timeout=300)
    host = str(urlsplit(isvc["status"]["url"]).hostname)
    url = f"{gateway}/v1/models/iris-canary:predict"

    def ask() -> int:
        return _predict(url, host=host)

    # The gateway applies new weights within its provider's throttle: wait for a canary answer.
    wait_for("a canary answer through the gateway", lambda: ask() == 2, timeout=60, every=0.2)
    timeline.add("canary: kubectl apply -> traffic split served", time.monotonic() - t0)
    answers = Counter(ask() for _ in range(CANARY_REQUESTS))
    share = 100 * answers[2] / CANARY_REQUESTS
    print(f"canary split over {CANARY_REQUESTS} requests: {dict(answers)} -> {share:.1f}%")
    assert set(answers) <= {1, 2}
    assert abs(share - CANARY_PERCENT) <= CANARY_TOLERANCE


def test_promote_and_roll_back_under_steady_load_lose_no_request(
    cli: Cli, gateway_api: None, gateway: str, timeline: Timeline
) -> None:
    # After the split test: iris-canary's canary v2 is up and takes its share.
    isvc = cli.json("get", "inferenceservice", "iris-canary", "-n", TRAFFIC_NS)
    host = str(urlsplit(isvc["status"]["url"]).hostname)
    url = f"{gateway}/v1/models/iris-canary:predict"
    stop = threading.Event()
    outcomes: Counter[str] = Counter()

    def load() -> None:
        while not stop.is_set():
            try:
                outcomes[str(_predict(url, host=host))] += 1
            except Exception as err:  # every failure is counted, none retried
                outcomes[f"failed: {err}"] += 1

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        time.sleep(3)
        # Promote: the predictor takes the canary's name, the entry goes; the old predictor's
        # Deployment is deleted once the gateway took the route that no longer names it.
        t0 = time.monotonic()
        # As upstream documents it: the predictor takes the canary's name and spec (here its
        # storageUri), so the canary's Deployment becomes the predictor's without a restart.
        promoted = {"name": "v2", "model": {"storageUri": CANARY_URI}}
        _patch(cli, "iris-canary", {"predictor": promoted, "canary": None})
        wait_for(
            "the old predictor deleted",
            lambda: _gone(cli, "deployment", "iris-canary-predictor"),
            timeout=120,
        )
        time.sleep(5)  # its pods terminate meanwhile: requests keep flowing
        timeline.add("canary promoted under load", time.monotonic() - t0)
        # Roll back a new canary (the tutorial model again, 30%): add it, then remove it.
        canary = {"trafficPercent": 30, "predictor": {"name": "v3", "model": {
            "modelFormat": {"name": "sklearn"},
            "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model"}}}  # fmt: skip
        _patch(cli, "iris-canary", {"canary": [canary]})

        def v3_routed() -> bool:
            got = cli.json("get", "inferenceservice", "iris-canary", "-n", TRAFFIC_NS)
            return [s.get("trafficPercent") for s in got["status"].get("canaryStatuses") or []] == [
                30
            ]

        wait_for("canary v3 taking 30%", v3_routed, timeout=300)
        time.sleep(3)
        _patch(cli, "iris-canary", {"canary": None})
        wait_for(
            "canary v3 deleted",
            lambda: _gone(cli, "deployment", "iris-canary-v3-predictor"),
            timeout=120,
        )
        time.sleep(5)
    finally:
        stop.set()
        worker.join(timeout=60)
    failed = {k: v for k, v in outcomes.items() if k.startswith("failed")}
    print(f"promote + roll back under load: {dict(outcomes)}")
    assert sum(outcomes.values()) > 100
    assert not failed, failed
