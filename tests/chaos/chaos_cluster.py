"""The fault suite's view of the cluster: the model store, InferenceServices and their
predictor workloads, and the answer a scenario's load expects (the fixtures are in conftest)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_kube import REPO, Cli, condition, diagnose, tool, wait_for

NAMESPACE = "chaos"
STORE_NAMESPACE = "chaos-store"
IMAGE_TAG = next(
    line.split("=", 1)[1].strip()
    for line in (REPO / "hack/versions.env").read_text().splitlines()
    if line.startswith("IMAGE_TAG=")
)
MODEL_SERVER_IMAGE = f"registry.kserve-py.test/kserve-py/model-server:{IMAGE_TAG}"
# apply -> Ready with 2 replicas, measured on this 2-core machine, then doubled or more
READY_WITHIN = 240.0
IRIS_ROW = [6.8, 2.8, 4.8, 1.4]
IRIS_BODY = json.dumps({"instances": [IRIS_ROW]}).encode()
MODELS = ("iris-a", "iris-b")


def iris_models() -> dict[str, bytes]:
    """Two iris classifiers (joblib), so a storageUri change loads a different model file."""
    import joblib
    from sklearn import datasets, svm, tree

    iris = datasets.load_iris()
    trained = {
        "iris-a": svm.SVC(gamma="scale").fit(iris.data, iris.target),
        "iris-b": tree.DecisionTreeClassifier(random_state=0).fit(iris.data, iris.target),
    }
    out = {}
    for name, model in trained.items():
        blob = io.BytesIO()
        joblib.dump(model, blob)
        out[name] = blob.getvalue()
    return out


@dataclass(frozen=True)
class ModelStore:
    """`http://models.chaos-store.svc.cluster.local/<name>/model.joblib` for each of MODELS."""

    host: str = f"models.{STORE_NAMESPACE}.svc.cluster.local"

    def uri(self, name: str) -> str:
        assert name in MODELS, name
        return f"http://{self.host}/{name}/model.joblib"


def file_server(
    name: str, *, command: list[str], port: int, ready_path: str, mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    """A container of a store inside the cluster: `command` run by the model server's Python
    (no image of its own) on a read-only root, serving `port`, ready once `ready_path`
    answers."""
    return {
        "name": name,
        "image": MODEL_SERVER_IMAGE,
        "command": command,
        "ports": [{"containerPort": port, "name": "http"}],
        "readinessProbe": {"httpGet": {"path": ready_path, "port": port}, "periodSeconds": 1},
        "resources": {
            "requests": {"cpu": "20m", "memory": "32Mi"},
            "limits": {"cpu": "500m", "memory": "128Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }


def store_manifests() -> list[dict[str, Any]]:
    labels = {"app": "models"}
    server = file_server(
        "http",
        command=["python3", "-m", "http.server", "8000", "--directory", "/models"],
        port=8000,
        ready_path="/iris-a/model.joblib",
        mounts=[{"name": "models", "mountPath": "/models", "readOnly": True}],
    )
    items = [{"key": name, "path": f"{name}/model.joblib"} for name in MODELS]
    meta = {"name": "models", "namespace": STORE_NAMESPACE}
    pod = {
        "automountServiceAccountToken": False,
        "containers": [server],
        "volumes": [{"name": "models", "configMap": {"name": "chaos-models", "items": items}}],
    }
    return deployment_and_service(meta, labels, pod, target_port=8000)


def deployment_and_service(
    meta: dict[str, Any], labels: dict[str, str], pod: dict[str, Any], *, target_port: int
) -> list[dict[str, Any]]:
    """A one-replica Deployment of `pod` and its Service on port 80: a store inside the cluster."""
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": 80, "targetPort": target_port}],
            },
        },
    ]


def apply(cli: Cli, objects: list[dict[str, Any]], tmp: Path) -> None:
    path = tmp / f"apply-{time.monotonic_ns()}.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    cli.kubectl("apply", "-f", str(path))


@dataclass
class Isvc:
    """An applied InferenceService in NAMESPACE and its predictor's workload."""

    cli: Cli
    name: str
    namespace: str = NAMESPACE
    applied: list[dict[str, Any]] = field(default_factory=list)

    @property
    def workload(self) -> str:
        return f"{self.name}-predictor"

    def get(self) -> dict[str, Any]:
        return dict(self.cli.json("get", "inferenceservice", self.name, "-n", self.namespace))

    def deployment(self) -> dict[str, Any]:
        return dict(self.cli.json("get", "deployment", self.workload, "-n", self.namespace))

    def service_url(self, path: str) -> str:
        """http://<ClusterIP><path>: the predictor's Service, as a pod reaches it."""
        svc = self.cli.json("get", "service", self.workload, "-n", self.namespace)
        return f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}{path}"

    def predict_url(self) -> str:
        return self.service_url(f"/v1/models/{self.name}:predict")

    def pods(self) -> list[dict[str, Any]]:
        found = self.cli.json(
            "get", "pods", "-n", self.namespace, "-l", f"app=isvc.{self.workload}"
        )
        return list(found["items"])

    def patch(self, spec: dict[str, Any]) -> None:
        body = json.dumps({"spec": spec})
        self.cli.kubectl(
            "patch", "inferenceservice", self.name, "-n", self.namespace, "--type=merge", "-p", body
        )

    def wait_ready(self, *, timeout: float = READY_WITHIN) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            isvc = self.get()
            return isvc if condition(isvc, "Ready").get("status") == "True" else None

        try:
            return wait_for(f"{self.namespace}/{self.name} Ready", ready, timeout=timeout)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{diagnose(self.cli, self.namespace)}") from err

    def wait_rolled_out(self, *, after_generation: int, timeout: float = READY_WITHIN) -> None:
        """The predictor's Deployment changed (generation past `after_generation`), every
        replica updated and available, and no old pod left, terminating or not."""

        def done() -> bool:
            dep = self.deployment()
            meta, spec, status = dep["metadata"], dep["spec"], dep.get("status") or {}
            want = spec.get("replicas", 1)
            return (
                meta["generation"] > after_generation
                and status.get("observedGeneration", 0) >= meta["generation"]
                and status.get("updatedReplicas") == want
                and status.get("availableReplicas") == want
                and status.get("replicas") == want
                and len(self.pods()) == want
            )

        try:
            wait_for(f"{self.workload} rolled out", done, timeout=timeout)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{diagnose(self.cli, self.namespace)}") from err


IsvcFactory = Callable[..., Isvc]


def isvc_manifest(
    name: str,
    *,
    storage_uri: str,
    replicas: int,
    predictor: dict[str, Any] | None = None,
    namespace: str = NAMESPACE,
) -> dict[str, Any]:
    """An sklearn InferenceService with a fixed replica count (autoscaler class `none`)."""
    spec: dict[str, Any] = {
        "minReplicas": replicas,
        "maxReplicas": max(replicas, 1),
        "model": {"modelFormat": {"name": "sklearn"}, "storageUri": storage_uri},
        **(predictor or {}),
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {"serving.kserve.io/autoscalerClass": "none"},
        },
        "spec": {"predictor": spec},
    }


# -- the controller, as a user watches it ---------------------------------------------------

CONTROLLER_LABELS = "app=kserve-controller,control-plane=kserve-controller-manager"
CONTROLLER_METRICS_PORT = 8080  # the chart's `metrics` port
CHILDREN = {  # kind -> the name of InferenceService NAME's child (autoscaler class none)
    "deployment": "{}-predictor",
    "service": "{}-predictor",
    "ingress": "{}",
}


def controller_pod(cli: Cli) -> dict[str, Any]:
    found = cli.json("get", "pods", "-n", "kserve", "-l", CONTROLLER_LABELS)["items"]
    assert len(found) == 1, [p["metadata"]["name"] for p in found]
    return dict(found[0])


def controller_samples(cli: Cli, metric: str) -> dict[str, float]:
    """`metric`'s samples in the controller's /metrics, read as Prometheus would scrape it:
    their labels as written (`{kind="Service"}`) -> value."""
    ip = controller_pod(cli)["status"]["podIP"]
    url = f"http://{ip}:{CONTROLLER_METRICS_PORT}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    found = {}
    for line in text.splitlines():
        if line.startswith(f"{metric}{{"):
            labels, value = line[len(metric) :].rsplit(" ", 1)
            found[labels] = float(value)
    return found


def controller_writes(cli: Cli) -> float:
    """The controller's writes to the apiserver so far (kserve_controller_api_writes_total, all
    verbs and kinds)."""
    return sum(controller_samples(cli, "kserve_controller_api_writes_total").values())


def apply_batch(
    cli: Cli, items: list[dict[str, Any]], path: Path, *, namespace: str, until_made: int
) -> tuple[subprocess.Popen[str], int]:
    """Starts `kubectl apply` of `items` (written to `path` as one List) and returns, with the
    apply still running, once the controller has made `until_made` Deployments in `namespace`:
    the apply's process and how many Deployments there were then (the controller mid-way)."""
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    applying = subprocess.Popen(
        [tool("kubectl"), "apply", "-f", str(path)],
        env=cli.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for(
        f"{until_made} Deployments made",
        lambda: len(names(cli, "deployment", namespace)) >= until_made,
        timeout=300,
        every=0.2,
    )
    return applying, len(names(cli, "deployment", namespace))


def names(cli: Cli, kind: str, namespace: str) -> list[str]:
    out = cli.kubectl("get", kind, "-n", namespace, "-o", "name", echo=False)
    return [line.split("/", 1)[1] for line in out.split()]


def observed_generation(isvc: dict[str, Any]) -> int | None:
    return (isvc.get("status") or {}).get("observedGeneration")


def batch_converged(cli: Cli, namespace: str, wanted: list[str]) -> bool:
    """Every InferenceService of `wanted` has its status for its generation, and the namespace
    holds exactly their children (CHILDREN), no more, no fewer."""
    found = cli.json("get", "inferenceservices", "-n", namespace)["items"]
    observed = [i for i in found if observed_generation(i) == i["metadata"]["generation"]]
    return len(observed) == len(wanted) and all(
        sorted(names(cli, kind, namespace)) == sorted(pattern.format(n) for n in wanted)
        for kind, pattern in CHILDREN.items()
    )


def owned_exactly(cli: Cli, namespace: str, wanted: list[str]) -> None:
    """Asserts none of `wanted` lost, none of their children duplicated or orphaned: each child
    is controlled by the live InferenceService its name belongs to."""
    isvcs = cli.json("get", "inferenceservices", "-n", namespace)["items"]
    assert sorted(i["metadata"]["name"] for i in isvcs) == sorted(wanted)  # none lost
    uids = {i["metadata"]["name"]: i["metadata"]["uid"] for i in isvcs}
    for kind, pattern in CHILDREN.items():
        children = cli.json("get", kind, "-n", namespace)["items"]
        assert len(children) == len(wanted), kind  # none duplicated
        for child in children:
            owners = child["metadata"].get("ownerReferences") or []
            controllers = [o for o in owners if o.get("controller")]
            assert len(controllers) == 1, (kind, child["metadata"]["name"], owners)
            owner = controllers[0]
            assert owner["kind"] == "InferenceService"
            assert uids.get(owner["name"]) == owner["uid"], (kind, child["metadata"]["name"])
            assert child["metadata"]["name"] == pattern.format(owner["name"])


def iris_check(status: int, body: bytes) -> str | None:
    """A V1 answer for IRIS_ROW: one iris class."""
    try:
        predictions = json.loads(body)["predictions"]
    except (ValueError, KeyError, TypeError):
        return f"not a V1 answer: {body[:200]!r}"
    return None if len(predictions) == 1 and predictions[0] in (0, 1, 2) else str(predictions)
