"""The cluster's gateway in Gateway API mode, switched on with upstream's chart values: HTTPRoutes
by host and by path (pathTemplate); a spec.canary entry taking its share of 500 requests, then a
promotion and a rollback under steady load that lose no request; and the older form,
`predictor.canaryTrafficPercent` on a changed predictor, with PREV and LATEST in `kubectl get isvc`.
Everything through the gateway's loopback port, no port-forward.

Named to run after test_tutorial.py and before test_tutorial_lifecycle.py (pytest takes files in
name order): the mode switch restarts the controller, whose log test_tutorial.py reads.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import joblib
import pytest
from e2e_gateway import IRIS_ROW, SteadyLoad, predict, routed
from e2e_kube import REPO, Cli, condition, diagnose, wait_for
from e2e_steps import Install
from e2e_timeline import Timeline
from sklearn import datasets, tree

TRAFFIC_NS = "traffic"
CANARY_PERCENT = 20
CANARY_REQUESTS = 500
CANARY_TOLERANCE = 7  # percentage points
TUTORIAL_URI = "gs://kfserving-examples/models/sklearn/1.0/model"
# What the canary model predicts for IRIS_ROW (2) differs from the tutorial model's (1): trained
# on iris with every label shifted by one.
CANARY_URI = "gs://kfserving-examples/models/sklearn/canary/model"
TUTORIAL_ANSWER, CANARY_ANSWER = 1, 2

pytestmark = pytest.mark.usefixtures("gateway_api")  # every test here runs in that mode


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


@pytest.fixture(scope="module")
def canary_model(cli: Cli, environment_ready: None) -> str:
    """CANARY_URI in the GCS emulator: iris with every label shifted by one."""
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
    return CANARY_URI


def _isvc(name: str, *, canary: bool = False) -> dict[str, Any]:
    model = {"modelFormat": {"name": "sklearn"}, "storageUri": TUTORIAL_URI}
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


def _answers_only(url: str, *, host: str, answer: int, what: str) -> None:
    """Waits until 20 predictions in a row answer `answer` (the gateway applies new weights
    within its provider's throttle)."""

    def only() -> bool:
        return all(predict(url, host=host) == answer for _ in range(20))

    wait_for(what, only, timeout=60, every=0.2)


def test_gateway_api_mode_routes_by_host_and_by_path(
    cli: Cli, gateway: str, models: Path, tmp_path: Path
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


def _split(url: str, *, host: str, canary: int) -> float:
    """The share (percent) of CANARY_REQUESTS predictions that `canary` answered."""
    answers = Counter(predict(url, host=host) for _ in range(CANARY_REQUESTS))
    share = 100 * answers[canary] / CANARY_REQUESTS
    print(f"split over {CANARY_REQUESTS} requests: {dict(answers)} -> {share:.1f}% to the new")
    assert set(answers) <= {TUTORIAL_ANSWER, CANARY_ANSWER}, answers
    return share


def _canary_takes_its_share(
    url: str, *, host: str, timeline: Timeline, step: str, since: float
) -> None:
    """Once the canary answers through the gateway (it applies new weights within its
    provider's throttle), `step` took from `since` till then; then CANARY_REQUESTS show the
    canary's CANARY_PERCENT share, within CANARY_TOLERANCE."""
    wait_for(
        "a canary answer through the gateway",
        lambda: predict(url, host=host) == CANARY_ANSWER,
        timeout=60,
        every=0.2,
    )
    timeline.add(step, time.monotonic() - since)
    share = _split(url, host=host, canary=CANARY_ANSWER)
    assert abs(share - CANARY_PERCENT) <= CANARY_TOLERANCE


def test_a_canary_takes_its_share_through_the_gateway(
    cli: Cli,
    canary_model: str,
    gateway: str,
    tmp_path: Path,
    timeline: Timeline,
) -> None:
    t0 = time.monotonic()
    isvc = _apply_ready(cli, _isvc("iris-canary", canary=True), tmp_path)

    def split() -> list[dict[str, Any]] | None:
        got = cli.json("get", "inferenceservice", "iris-canary", "-n", TRAFFIC_NS)
        statuses = got["status"].get("canaryStatuses") or []
        return statuses if [s.get("trafficPercent") for s in statuses] == [CANARY_PERCENT] else None

    wait_for("the canary ready and routed its share", split, timeout=300)
    host = str(urlsplit(isvc["status"]["url"]).hostname)
    url = f"{gateway}/v1/models/iris-canary:predict"
    _canary_takes_its_share(
        url, host=host, timeline=timeline, step="canary: kubectl apply -> traffic split served",
        since=t0,
    )  # fmt: skip


def test_promote_and_roll_back_under_steady_load_lose_no_request(
    cli: Cli, gateway: str, timeline: Timeline
) -> None:
    # After the split test: iris-canary's canary v2 is up and takes its share.
    isvc = cli.json("get", "inferenceservice", "iris-canary", "-n", TRAFFIC_NS)
    host = str(urlsplit(isvc["status"]["url"]).hostname)
    url = f"{gateway}/v1/models/iris-canary:predict"
    with SteadyLoad(url, host=host) as load:
        time.sleep(3)
        # Promote: the predictor takes the canary's name, the entry goes; the old predictor's
        # Deployment is deleted once the gateway took the route that no longer names it.
        load.phase = "promote"
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
        load.phase = "roll back"
        canary = {"trafficPercent": 30, "predictor": {"name": "v3", "model": {
            "modelFormat": {"name": "sklearn"}, "storageUri": TUTORIAL_URI}}}  # fmt: skip
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
    print(f"promote + roll back under load:\n{load.report()}")
    assert load.total() > 100
    assert not load.failed(), load.failed()


# -- predictor.canaryTrafficPercent: the rolled-out version keeps 100 - p % ------------------


def _columns(cli: Cli, name: str) -> dict[str, str]:
    """`kubectl get inferenceservice NAME` as a user reads it: column header -> cell."""
    out = cli.kubectl("get", "inferenceservice", name, "-n", TRAFFIC_NS, echo=False)
    header, row = out.splitlines()[:2]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    cells = [row[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return dict(zip(header.split(), cells, strict=True))


def _shown(cli: Cli, name: str, *, prev: str, latest: str) -> dict[str, str] | None:
    columns = _columns(cli, name)
    empty = ("", "<none>")
    want = {"PREV": prev, "LATEST": latest}
    got = {k: "" if columns.get(k) in empty else columns.get(k, "?") for k in want}
    return columns if got == want else None


def test_canary_traffic_percent_splits_then_rolls_back_and_promotes_under_load(
    cli: Cli,
    canary_model: str,
    gateway: str,
    tmp_path: Path,
    timeline: Timeline,
) -> None:
    name = "iris-rev"
    isvc = _apply_ready(cli, _isvc(name), tmp_path)
    host = str(urlsplit(isvc["status"]["url"]).hostname)
    url = f"{gateway}/v1/models/{name}:predict"
    routed(url, host=host, body={"instances": [IRIS_ROW]})
    assert _shown(cli, name, prev="", latest="")  # nothing split: the columns are empty
    with SteadyLoad(url, host=host) as load:
        time.sleep(3)
        # The predictor changed (the second model) with canaryTrafficPercent: 20.
        load.phase = "rollout at 20%"
        t0 = time.monotonic()
        change = {"canaryTrafficPercent": CANARY_PERCENT, "model": {"storageUri": canary_model}}
        _patch(cli, name, {"predictor": change})
        columns = wait_for(
            "kubectl get isvc: PREV 80, LATEST 20",
            lambda: _shown(cli, name, prev="80", latest="20"),
            timeout=300,
        )
        print(cli.kubectl("get", "inferenceservice", name, "-n", TRAFFIC_NS, echo=False))
        assert columns["READY"] == "True"
        _canary_takes_its_share(
            url, host=host, timeline=timeline,
            step="canaryTrafficPercent 20: patch -> split served", since=t0,
        )  # fmt: skip

        # Roll back: 0 sends everything to the rolled-out version; the new one stays up.
        load.phase = "roll back (0)"
        t0 = time.monotonic()
        _patch(cli, name, {"predictor": {"canaryTrafficPercent": 0}})
        wait_for(
            "kubectl get isvc: PREV 100, LATEST 0",
            lambda: _shown(cli, name, prev="100", latest="0"),
            timeout=120,
        )
        _answers_only(url, host=host, answer=TUTORIAL_ANSWER, what="only the rolled-out answers")
        timeline.add("canaryTrafficPercent 0: patch -> rolled back", time.monotonic() - t0)
        time.sleep(3)

        # Promote: the field removed; the new version takes everything, the frozen copy goes.
        load.phase = "promote (removed)"
        t0 = time.monotonic()
        _patch(cli, name, {"predictor": {"canaryTrafficPercent": None}})
        _answers_only(url, host=host, answer=CANARY_ANSWER, what="only the new version answers")
        wait_for(
            "the rolled-out copy deleted",
            lambda: _gone(cli, "deployment", f"{name}-predictor-prev"),
            timeout=120,
        )
        wait_for(
            "kubectl get isvc: PREV and LATEST empty",
            lambda: _shown(cli, name, prev="", latest=""),
            timeout=60,
        )
        timeline.add("canaryTrafficPercent removed: patch -> copy deleted", time.monotonic() - t0)
        time.sleep(5)  # its pods terminate meanwhile: requests keep flowing
    print(f"canaryTrafficPercent under load:\n{load.report()}")
    assert load.total() > 100
    assert not load.failed(), load.failed()
    answers = {outcome for (phase, outcome) in load.outcomes if phase == "promote (removed)"}
    assert str(CANARY_ANSWER) in answers
