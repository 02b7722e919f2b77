"""The fault suite's cluster, charts, model store and InferenceServices (KUBECONFIG: a cluster
`make cluster-up` brought up, with our images in its registry).

`make chaos` runs every scenario; `make test` runs those marked `short` on the e2e run's
cluster, after the e2e tests (hack/e2e.sh). Both charts are installed as the e2e installs them
(the tutorial's `helm install`s from the local registry, RawDeployment) unless a release
`kserve` is there already; what this suite installed it uninstalls.

Fixtures:
  cli              kubectl/helm/curl against the cluster (tests/e2e/e2e_kube.py)
  kserve           both charts installed, the controller Ready
  model_store      an in-cluster http file server with two iris models: `model_store.uri(name)`
  fresh_namespace  `fresh_namespace(name)`: a namespace of a scenario's own; deleted after
  isvc_factory     `isvc_factory(name, storage_uri=..., replicas=2)`: applied, Ready; deleted after
  fault_store      scripted storage faults and an oversized model (chaos_faults.py)
  results          the run's results file (chaos_results.py): `results.add(scenario, summary, ...)`
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chaos_faults
import pytest
from chaos_cluster import (
    IMAGE_TAG,
    NAMESPACE,
    STORE_NAMESPACE,
    Isvc,
    IsvcFactory,
    ModelStore,
    apply,
    iris_models,
    isvc_manifest,
    store_manifests,
)
from chaos_results import REPO, ResultsFile
from e2e_kube import Cli, wait_for

CHARTS = "oci://127.0.0.1:5000/charts"
SCENARIO_TIMEOUT = 900  # a scenario's own bound covers the session fixtures it starts first


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        here = Path(item.path).is_relative_to(Path(__file__).parent)
        if here and item.get_closest_marker("timeout") is None:  # a scenario's own bound wins
            item.add_marker(pytest.mark.timeout(SCENARIO_TIMEOUT))
    chosen = selected(os.environ.get("CHAOS_SCENARIOS", ""))
    if chosen is None:
        return
    kept = [i for i in items if getattr(i.module, "SCENARIO", None) in chosen]
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept


def selected(text: str) -> set[int] | None:
    """CHAOS_SCENARIOS ("5 8", "4,5"): the scenarios' numbers (each test module's SCENARIO),
    None for all."""
    words = text.replace(",", " ").split()
    if not words:
        return None
    if not all(w.isdigit() and 1 <= int(w) <= 8 for w in words):
        raise pytest.UsageError(f"CHAOS_SCENARIOS={text!r}: numbers of scenarios, 1 to 8")
    return {int(w) for w in words}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _RESULTS and _RESULTS[0].path.exists():
        terminalreporter.section("chaos results")
        terminalreporter.write_line(str(_RESULTS[0].path.relative_to(REPO)))
        for line in _RESULTS[0].path.read_text().splitlines():
            terminalreporter.write_line(line)


_RESULTS: list[ResultsFile] = []


@pytest.fixture(scope="session")
def results() -> ResultsFile:
    directory = Path(os.environ.get("CHAOS_RESULTS_DIR") or REPO / "bench" / "results")
    only = os.environ.get("CHAOS_SCENARIOS", "").strip()
    _RESULTS.append(ResultsFile.new(directory, only=f"scenarios {only}" if only else ""))
    return _RESULTS[-1]


@pytest.fixture(scope="session")
def cli() -> Cli:
    kubeconfig = os.environ.get("KUBECONFIG", "")
    if not kubeconfig or not Path(kubeconfig).is_file():
        pytest.fail(
            f"the fault suite needs a cluster: KUBECONFIG={kubeconfig!r} is not a file "
            "(run `make chaos`, or `make cluster-up` and export the KUBECONFIG it prints)"
        )
    return Cli(kubeconfig=Path(kubeconfig))


def _chart_version() -> str:
    return next(
        line.split(":", 1)[1].strip()
        for line in (REPO / "charts/kserve/Chart.yaml").read_text().splitlines()
        if line.startswith("version:")
    )


def _gone(cli: Cli, *what: str) -> bool:
    return not cli.kubectl("get", *what, "--ignore-not-found", "-o", "name", echo=False).strip()


@pytest.fixture(scope="session")
def kserve(cli: Cli) -> Iterator[None]:
    """Both charts, as the e2e installs them, unless the release is there already."""
    if cli.helm("status", "kserve", "-n", "kserve", check=False).strip():
        yield
        return
    # An e2e run just before uninstalled its release: its namespace and CRDs may be going.
    wait_for("namespace kserve gone", lambda: _gone(cli, "namespace", "kserve"), timeout=180)
    crds = ("crd", "-l", "app.kubernetes.io/part-of=kserve")
    wait_for("the previous release's CRDs gone", lambda: _gone(cli, *crds), timeout=180)
    cli.kubectl("create", "namespace", "kserve")
    version = ["--version", _chart_version(), "--plain-http", "-n", "kserve"]
    wait = ["--wait", "--timeout=5m"]
    try:
        cli.helm("install", "kserve-crd", f"{CHARTS}/kserve-crd", *version, *wait)
        cli.helm(
            "install", "kserve", f"{CHARTS}/kserve", *version, *wait,
            "--set", "kserve.controller.deploymentMode=RawDeployment",
        )  # fmt: skip
        yield
    finally:
        for release in ("kserve", "kserve-crd"):
            cli.helm("uninstall", release, "-n", "kserve", "--ignore-not-found", check=False)
        cli.kubectl("delete", *crds, "--wait=false", check=False)
        cli.kubectl("delete", "namespace", "kserve", "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="session")
def model_store(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelStore]:
    tmp = tmp_path_factory.mktemp("store")
    cli.kubectl("delete", "namespace", STORE_NAMESPACE, "--ignore-not-found", "--wait")
    cli.kubectl("create", "namespace", STORE_NAMESPACE)
    files = []
    for name, blob in iris_models().items():
        (tmp / name).write_bytes(blob)
        files.append(f"--from-file={name}={tmp / name}")
    cli.kubectl("create", "configmap", "chaos-models", "-n", STORE_NAMESPACE, *files)
    apply(cli, store_manifests(), tmp)
    cli.kubectl("rollout", "status", "deployment/models", "-n", STORE_NAMESPACE, "--timeout=3m")
    yield ModelStore()
    cli.kubectl("delete", "namespace", STORE_NAMESPACE, "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="session")
def fault_store(
    cli: Cli, model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> chaos_faults.FaultStore:
    """A model store whose faults a scenario scripts, beside `model_store` (chaos_faults.py)."""
    iris = iris_models()["iris-a"]
    return chaos_faults.deploy(cli, tmp_path_factory.mktemp("faults"), iris_joblib=iris)


@pytest.fixture(scope="session")
def namespace(cli: Cli, kserve: None) -> Iterator[str]:
    """The scenarios' InferenceServices' namespace, made afresh and removed after."""
    cli.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait")
    cli.kubectl("create", "namespace", NAMESPACE)
    yield NAMESPACE
    # before the controller goes (when this suite installed it), so nothing is left half-done
    cli.kubectl("delete", "namespace", NAMESPACE, "--wait", "--timeout=120s", check=False)


@pytest.fixture
def fresh_namespace(cli: Cli, kserve: None) -> Iterator[Callable[[str], str]]:
    """`fresh_namespace(name)`: a namespace of a scenario's own, made afresh (what an earlier
    run left is removed first); deleted after, and waited on (its objects may be many)."""
    made: list[str] = []

    def make(name: str) -> str:
        cli.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait")
        cli.kubectl("create", "namespace", name)
        made.append(name)
        return name

    yield make
    for name in made:
        cli.kubectl("delete", "namespace", name, "--wait", "--timeout=300s", check=False)


@pytest.fixture
def isvc_factory(
    cli: Cli, namespace: str, model_store: ModelStore, tmp_path: Path
) -> Iterator[IsvcFactory]:
    """`isvc_factory(name, storage_uri=..., replicas=2, predictor={...}, wait=True)`: an
    sklearn InferenceService with a fixed replica count, applied (and Ready); deleted after."""
    made: list[Isvc] = []

    def make(
        name: str,
        *,
        storage_uri: str | None = None,
        replicas: int = 2,
        predictor: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> Isvc:
        uri = storage_uri or model_store.uri("iris-a")
        obj = isvc_manifest(name, storage_uri=uri, replicas=replicas, predictor=predictor)
        apply(cli, [obj], tmp_path)
        isvc = Isvc(cli=cli, name=name, applied=[obj])
        made.append(isvc)
        if wait:
            isvc.wait_ready()
        return isvc

    yield make
    for isvc in made:
        cli.kubectl(
            "delete", "inferenceservice", isvc.name, "-n", isvc.namespace,
            "--ignore-not-found", "--timeout=120s", check=False,
        )  # fmt: skip


REGISTRY = "http://127.0.0.1:5000"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@pytest.fixture(scope="session")
def runtime_version() -> str:
    """A second tag of the model-server image in the local registry (the same manifest under
    another name: no build, no layer), for a `runtimeVersion` change."""
    tag = f"{IMAGE_TAG}-chaos"
    base = f"{REGISTRY}/v2/kserve-py/model-server/manifests"
    get = urllib.request.Request(f"{base}/{IMAGE_TAG}", headers={"Accept": MANIFEST_TYPES})
    with urllib.request.urlopen(get, timeout=30) as resp:
        manifest, media_type = resp.read(), resp.headers["Content-Type"]
    put = urllib.request.Request(
        f"{base}/{tag}", data=manifest, method="PUT", headers={"Content-Type": media_type}
    )
    urllib.request.urlopen(put, timeout=30).close()
    return tag
