"""The tutorial's two demos, step by step, checked the way its reader checks them."""

from __future__ import annotations

import json
import pickle
import re
import time
from pathlib import Path

import joblib
import pytest
from e2e_kube import Cli, curl, port_forward, wait_for, writable
from e2e_steps import Applied, Install
from e2e_timeline import Timeline

from kserve_controller.api import crd

CRDS = set(crd.CRD_NAMES)
IRIS_ROW = [6.8, 2.8, 4.8, 1.4]
JSON = ["-H", "Content-Type: application/json"]


def table(output: str) -> list[dict[str, str]]:
    """kubectl's default table as rows keyed by header; cells cut at the headers' offsets, so
    an empty cell (e.g. no URL yet) stays empty."""
    lines = [line for line in output.splitlines() if line.strip()]
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    header = lines[0].split()
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    return [
        {name: line[a:b].strip() for name, (a, b) in zip(header, bounds, strict=True)}
        for line in lines[1:]
    ]


def test_both_charts_install_in_tutorial_order(kserve: Install) -> None:
    assert "STATUS: deployed" in kserve.crd_output
    assert "STATUS: deployed" in kserve.kserve_output


def test_controller_pod_is_running(cli: Cli, kserve: Install) -> None:
    rows = table(cli.kubectl("get", "pods", "-n", "kserve"))
    controllers = [r for r in rows if r["NAME"].startswith("kserve-controller-manager-")]
    assert controllers, rows
    assert all(r["STATUS"] == "Running" and r["READY"] == "1/1" for r in controllers), controllers


def test_crds_are_listed(cli: Cli, kserve: Install) -> None:
    # `kubectl get crds | grep kserve`
    lines = cli.kubectl("get", "crds").splitlines()
    listed = {line.split()[0] for line in lines if "kserve" in line}
    assert listed == CRDS


def test_sklearn_iris_is_ready_with_url(cli: Cli, iris: Applied) -> None:
    rows = table(cli.kubectl("get", "inferenceservice", "-n", "ml"))
    row = next(r for r in rows if r["NAME"] == "sklearn-iris")
    assert row["READY"] == "True", row
    assert row["URL"].startswith("http://sklearn-iris-ml."), row
    cli.kubectl("describe", "inferenceservice", "sklearn-iris", "-n", "ml")


@pytest.mark.parametrize("kind", ["hpa", "deployment", "svc"])
def test_sklearn_iris_children_exist(cli: Cli, iris: Applied, kind: str) -> None:
    names = [r["NAME"] for r in table(cli.kubectl("get", kind, "-n", "ml"))]
    assert "sklearn-iris-predictor" in names


def test_controller_logs_tell_the_story(cli: Cli, iris: Applied) -> None:
    # The tutorial's line minus --all-containers (kubectl refuses it together with -c); with a
    # label selector kubectl shows only the last 10 lines unless told otherwise.
    logs = cli.kubectl(
        "logs",
        "-n",
        "kserve",
        "-l",
        "app=kserve-controller",
        "-c",
        "kserve-controller",
        "--tail=-1",
    )
    for phrase in (
        "Reconciling inference service sklearn-iris",
        "Creating deployment",
        "Creating service",
        "Creating horizontal pod autoscaler",
    ):
        assert phrase in logs, f"{phrase!r} not in the controller's log"


def test_sklearn_iris_predicts_through_port_forward(
    cli: Cli, iris: Applied, models: Path, timeline: Timeline
) -> None:
    expected = joblib.load(models / "sklearn-iris" / "model.joblib").predict([IRIS_ROW]).tolist()
    assert expected[0] in (0, 1, 2)
    with port_forward(cli, "ml", "svc/sklearn-iris-predictor", 80) as port:
        t0 = time.monotonic()
        body = curl(
            cli,
            "-s",
            f"http://localhost:{port}/v1/models/sklearn-iris:predict",
            *JSON,
            "-d",
            '{\n    "instances": [[6.8, 2.8, 4.8, 1.4]]\n  }',
        )
        timeline.add("sklearn-iris: port-forward -> first prediction", time.monotonic() - t0)
    since_apply = time.monotonic() - iris.applied_at
    timeline.add("sklearn-iris: kubectl apply -> first prediction", since_apply)
    assert body == {"predictions": expected}


def test_sklearn_iris_v2_infer(cli: Cli, iris: Applied, models: Path) -> None:
    expected = joblib.load(models / "sklearn-iris" / "model.joblib").predict([IRIS_ROW]).tolist()
    request = {
        "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": IRIS_ROW}]
    }
    with port_forward(cli, "ml", "svc/sklearn-iris-predictor", 80) as port:
        ready = curl(cli, "-s", f"http://localhost:{port}/v2/models/sklearn-iris/ready")
        body = curl(
            cli,
            "-s",
            "-X",
            "POST",
            f"http://localhost:{port}/v2/models/sklearn-iris/infer",
            *JSON,
            "-d",
            json.dumps(request),
        )
    assert ready["ready"] is True
    assert body["model_name"] == "sklearn-iris"
    assert body["outputs"][0]["data"] == expected


READ_ONLY = "Read-only file system"
# Where our images keep their code (/opt/app, /opt/venv), the root, and the emptyDir at /tmp.
PROBED = ("/", "/opt/app", "/tmp")
LOCKED = {"/": READ_ONLY, "/opt/app": READ_ONLY, "/tmp": "writable"}


def test_our_processes_run_on_a_read_only_root_filesystem(cli: Cli, iris: Applied) -> None:
    """kserve and ml enforce Pod Security "restricted", so the controller and the predictor
    pod were admitted under it; the model server, its storage initializer and the controller
    cannot write their image, only their /tmp."""
    for namespace in ("kserve", "ml"):
        labels = cli.json("get", "namespace", namespace)["metadata"].get("labels") or {}
        assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels
    pods = cli.json("get", "pods", "-n", "ml", "-l", "serving.kserve.io/inferenceservice")
    [pod] = [
        p
        for p in pods["items"]
        if p["metadata"]["name"].startswith("sklearn-iris-predictor-")
        and p["status"].get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
    ]
    [init] = pod["spec"]["initContainers"]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True, init
    [done] = pod["status"]["initContainerStatuses"]
    assert done["state"]["terminated"]["exitCode"] == 0, done  # it downloaded the model
    name = f"pod/{pod['metadata']['name']}"
    assert writable(cli, "ml", name, *PROBED, container="kserve-container") == LOCKED
    controller = "deploy/kserve-controller-manager"
    assert writable(cli, "kserve", controller, *PROBED, container="kserve-controller") == LOCKED


def test_intent_classifier_answers_the_three_curls(
    cli: Cli, intent: Applied, models: Path, timeline: Timeline
) -> None:
    for kind in ("hpa", "deployment", "svc"):
        assert "intent-classifier-predictor" in cli.kubectl("get", kind, "-n", "intent")
    with (models / "intent-classifier" / "intent_model.pkl").open("rb") as handle:
        local = pickle.load(handle)  # our own model, trained by the models fixture
    sentences = ["Hi, how are you?", "I want to cancel my subscription", "Hello, how are you?"]
    answers = []
    with port_forward(cli, "intent", "svc/intent-classifier-predictor", 80) as port:
        t0 = time.monotonic()
        for sentence in sentences:
            answers.append(
                curl(
                    cli,
                    "-s",
                    "-X",
                    "POST",
                    f"http://localhost:{port}/v1/models/intent-classifier:predict",
                    *JSON,
                    "-d",
                    f'{{\n    "instances": [["{sentence}"]]\n  }}',
                )
            )
            if len(answers) == 1:
                timeline.add(
                    "intent-classifier: port-forward -> first prediction", time.monotonic() - t0
                )
    # READY True promises a model that answers: an error here means Ready came too early
    assert all("predictions" in a for a in answers), f"after READY True: {answers}"
    intents = [a["predictions"][0] for a in answers]
    assert intents[0] == "greeting"
    assert intents[1] in ("cancellation", "complaint")
    assert intents[2] == "greeting"
    assert intents == [local.predict([s])[0] for s in sentences]


def test_intent_logs_name_it(cli: Cli, intent: Applied) -> None:
    def logged() -> bool:
        logs = cli.kubectl(
            "logs",
            "-n",
            "kserve",
            "-l",
            "app=kserve-controller",
            "-c",
            "kserve-controller",
            "--tail=-1",
        )
        return "Reconciling inference service intent-classifier" in logs

    wait_for("the controller to log the intent-classifier reconcile", logged, timeout=10)
