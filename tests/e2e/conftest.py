"""The tutorial on a real cluster (KUBECONFIG; `make e2e` brings one up): install, apply, wait.

Session fixtures run the tutorial's set-up steps once, in its order, timing each: the in-cluster
stand-ins for GCS and GitHub (`environment`), the two `helm install`s (`kserve`), and the two
InferenceServices (`iris`, `intent`). The tests then check what a user sees at each step.
One step more than the tutorial: its namespaces (and kserve's) enforce Pod Security
"restricted", so every pod there must be admitted under it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import e2e_dns
import e2e_gateway
import kubernetes.client
import kubernetes.config
import pytest
import trustme
from e2e_kube import REPO, Cli, rel
from e2e_steps import FIXTURES, RESTRICTED, Applied, Install, apply_and_wait
from e2e_timeline import TIMELINE, Timeline

FIXTURE_NS = "kserve-e2e"
# Bounds on waits, measured on this 2-core machine and then doubled or more (cold image pulls).
INSTALL_TIMEOUT = "5m"
# The tutorial's `helm install NAME oci://.../charts/NAME --version vX.Y.Z`, with our charts as
# `make images` pushed them to the local registry (plain http, hence --plain-http).
CHARTS = "oci://127.0.0.1:5000/charts"
CHART_VERSION = next(
    line.split(":", 1)[1].strip()
    for line in (REPO / "charts/kserve/Chart.yaml").read_text().splitlines()
    if line.startswith("version:")
)
TEST_TIMEOUT = 1500


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test's timeout covers the session fixtures it triggers first (image pulls, helm --wait).
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMELINE.steps:
        terminalreporter.section("e2e time line")
        for line in TIMELINE.lines():
            terminalreporter.write_line(line)
    TIMELINE.save()


@pytest.fixture(scope="session")
def timeline() -> Timeline:
    return TIMELINE


@pytest.fixture(scope="session")
def cli() -> Cli:
    kubeconfig = os.environ.get("KUBECONFIG", "")
    if not kubeconfig or not Path(kubeconfig).is_file():
        pytest.fail(
            f"the e2e needs a cluster: KUBECONFIG={kubeconfig!r} is not a file "
            "(run `make e2e`, or `make cluster-up` and export the KUBECONFIG it prints)"
        )
    return Cli(kubeconfig=Path(kubeconfig))


@pytest.fixture(scope="session")
def gateway(cli: Cli) -> str:
    """http://127.0.0.1:<port>: the loopback host port of the cluster's gateway."""
    found = e2e_gateway.address(cli)
    if found is None:
        pytest.fail(
            "this cluster has no gateway (deployment kube-system/traefik with a web hostPort): "
            "`make cluster-up` deploys it"
        )
    return found


@pytest.fixture(scope="session")
def api(cli: Cli) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=str(cli.kubeconfig))


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial's two models, trained from this repo (examples/train.py)."""
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "train.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    return trustme.CA(organization_name="kserve-py e2e test CA")


@pytest.fixture(scope="session")
def environment(
    cli: Cli,
    api: kubernetes.client.ApiClient,
    models: Path,
    test_ca: trustme.CA,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The GCS emulator and the github.com file server (fixtures/storage.yaml), not waited on."""
    tmp = tmp_path_factory.mktemp("environment")
    cert, key = tmp / "tls.crt", tmp / "tls.key"
    leaf = test_ca.issue_cert("github.com")
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    cli.kubectl("delete", "namespace", FIXTURE_NS, "--ignore-not-found", "--wait")
    cli.kubectl("create", "namespace", FIXTURE_NS)
    cli.kubectl(
        "create",
        "configmap",
        "e2e-models",
        "-n",
        FIXTURE_NS,
        f"--from-file=model.joblib={models / 'sklearn-iris' / 'model.joblib'}",
        f"--from-file=intent_model.pkl={models / 'intent-classifier' / 'intent_model.pkl'}",
    )
    cli.kubectl(
        "create", "secret", "tls", "github-tls", "-n", FIXTURE_NS, f"--cert={cert}", f"--key={key}"
    )
    cli.kubectl("apply", "-f", rel(FIXTURES / "storage.yaml"))
    service = cli.json("get", "service", "github", "-n", FIXTURE_NS)
    with TIMELINE.step("CoreDNS answers github.com with the test's file server"):
        restore = e2e_dns.add_host(api, ip=service["spec"]["clusterIP"], host="github.com")
    yield
    restore()
    cli.kubectl("delete", "namespace", FIXTURE_NS, "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="session")
def environment_ready(cli: Cli, environment: None) -> None:
    with TIMELINE.step("model stores ready (GCS emulator, github.com file server)"):
        for name in ("gcs-emulator", "github"):
            cli.kubectl("rollout", "status", f"deployment/{name}", "-n", FIXTURE_NS, "--timeout=5m")


@pytest.fixture(scope="session")
def kserve(
    cli: Cli, environment: None, test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Install]:
    """The tutorial's steps 4-6: the namespace, then both charts, each with --wait."""
    if cli.kubectl("get", "namespace", "kserve", "--ignore-not-found").strip():
        pytest.fail("namespace kserve already exists: the e2e installs KServe itself")
    ca = tmp_path_factory.mktemp("ca") / "cabundle.crt"
    test_ca.cert_pem.write_to_path(str(ca))
    cli.kubectl("create", "namespace", "kserve")
    cli.kubectl("label", "namespace", "kserve", RESTRICTED)  # the controller passes "restricted"
    cli.kubectl("create", "configmap", "kserve-e2e-ca", "-n", "kserve", f"--from-file={ca}")
    with TIMELINE.step("helm install kserve-crd --wait"):
        crd = cli.helm(
            "install",
            "kserve-crd",
            f"{CHARTS}/kserve-crd",
            "--version",
            CHART_VERSION,
            "--plain-http",
            "-n",
            "kserve",
            "--wait",
            f"--timeout={INSTALL_TIMEOUT}",
        )
    with TIMELINE.step("helm install kserve --wait (controller Ready)"):
        out = cli.helm(
            "install",
            "kserve",
            f"{CHARTS}/kserve",
            "--version",
            CHART_VERSION,
            "--plain-http",
            "-n",
            "kserve",
            "--set",
            "kserve.controller.deploymentMode=RawDeployment",
            "-f",
            rel(FIXTURES / "values.yaml"),
            "--wait",
            f"--timeout={INSTALL_TIMEOUT}",
        )
    install = Install(crd_output=crd, kserve_output=out)
    yield install
    if install.installed:  # the uninstall test did not run or failed half-way: clean up
        for release in ("kserve", "kserve-crd"):
            cli.helm("uninstall", release, "-n", "kserve", "--ignore-not-found", check=False)
        cli.kubectl("delete", "crd", "-l", "app.kubernetes.io/part-of=kserve", check=False)
    for namespace in ("ml", "intent", "kserve"):
        cli.kubectl(
            "delete", "namespace", namespace, "--ignore-not-found", "--wait=false", check=False
        )


@pytest.fixture(scope="session")
def iris(cli: Cli, kserve: Install, environment_ready: None) -> Applied:
    """The tutorial's steps 8-9: namespace ml, `kubectl apply -f inference-service.yml`."""
    return apply_and_wait(
        cli,
        REPO / "examples" / "inference-service.yml",
        name="sklearn-iris",
        namespace="ml",
        what="sklearn-iris",
    )


@pytest.fixture(scope="session")
def intent(cli: Cli, kserve: Install, environment_ready: None) -> Applied:
    """The intent demo's steps 9-11 (namespace intent, the GitHub release URL)."""
    return apply_and_wait(
        cli,
        REPO / "examples" / "intent-classifier-kserve.yml",
        name="intent-classifier",
        namespace="intent",
        what="intent-classifier",
    )
