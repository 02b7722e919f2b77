"""The local cluster (make cluster-up) runs our model server from the registry, with pod
networking, Services, cluster DNS, kubectl port-forward, `kubectl top` (metrics-server) and its
gateway (Traefik: an Ingress and an HTTPRoute from the host's loopback port)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from cluster_kube import IMAGE, KUBECONFIG, KUBECTL, ROWS, apply, free_port, kubectl


def test_model_server_pod_runs_with_a_pod_ip_from_our_registry(iris: dict[str, object]) -> None:
    status = iris["status"]
    assert isinstance(status, dict)
    assert status["phase"] == "Running"
    assert status["podIP"].startswith("10.244.0."), status["podIP"]
    (container,) = status["containerStatuses"]
    assert container["imageID"].startswith("registry.kserve-py.test/kserve-py/model-server@sha256:")


def test_service_answers_by_dns_name_from_another_pod(namespace: str, iris: object) -> None:
    url = f"http://iris.{namespace}.svc.cluster.local/v1/models/iris:predict"
    # kube-proxy programs a new Service's endpoints a moment after the pod is Ready (until then
    # it REJECTs: connection refused), so the client retries for up to 30 s, as a caller would.
    script = "\n".join(
        [
            "import json, sys, time, urllib.error, urllib.request as u",
            f"req = u.Request({url!r}, data=json.dumps({{'instances': {ROWS}}}).encode(),",
            "                headers={'Content-Type': 'application/json'})",
            "for attempt in range(30):",
            "    try:",
            "        print(u.urlopen(req, timeout=10).read().decode()); break",
            "    except urllib.error.URLError as err:",
            "        print(f'attempt {attempt + 1}: {err}', file=sys.stderr); time.sleep(1)",
            "else:",
            "    sys.exit('no answer in 30 attempts')",
        ]
    )
    apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "client", "namespace": namespace},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {"name": "client", "image": IMAGE, "command": ["python3", "-c", script]}
                ],
            },
        }
    )
    kubectl(
        "wait",
        "-n",
        namespace,
        "pod/client",
        "--for=jsonpath={.status.phase}=Succeeded",
        "--timeout=120s",
        check=False,
    )
    logs = kubectl("logs", "-n", namespace, "client", check=False)
    answer = [line for line in logs.splitlines() if line.startswith("{")]
    phase = kubectl("get", "-n", namespace, "pod/client", "-o", "jsonpath={.status.phase}")
    assert phase == "Succeeded", f"client pod {phase}: {logs}"
    assert json.loads(answer[-1])["predictions"] == [1, 1]


def test_port_forward_reaches_the_service_from_the_host(namespace: str, iris: object) -> None:
    port = free_port()
    forward = subprocess.Popen(
        [
            KUBECTL,
            "--kubeconfig",
            KUBECONFIG,
            "port-forward",
            "-n",
            namespace,
            "svc/iris",
            f"{port}:80",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = json.dumps({"instances": ROWS}).encode()
        deadline = time.monotonic() + 30
        while True:
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/models/iris:predict",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(req, timeout=10) as resp:
                    answer = json.loads(resp.read())
                break
            except OSError:
                assert forward.poll() is None, f"port-forward exited: {forward.stderr.read()}"
                assert time.monotonic() < deadline, "port-forward never answered"
                time.sleep(0.5)
        assert answer["predictions"] == [1, 1]
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_kubectl_top_shows_the_node_and_a_pod(namespace: str, iris: object) -> None:
    # metrics-server (cluster-up waits for its APIService): the node at once, a new pod once
    # it has two kubelet scrapes, one --metric-resolution (15 s) apart
    node = kubectl("top", "node", "--no-headers").split()
    assert node[0] == "kserve-py-node" and node[1].endswith("m"), node
    deadline = time.monotonic() + 90
    while True:
        result = subprocess.run(
            [KUBECTL, "--kubeconfig", KUBECONFIG, "top", "pod", "iris", "-n", namespace],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode == 0:
            break
        assert time.monotonic() < deadline, f"kubectl top pod never answered: {result.stderr}"
        time.sleep(2)
    name, cpu, memory = result.stdout.splitlines()[1].split()
    assert name == "iris" and cpu.endswith("m") and memory.endswith("Mi"), result.stdout
    raw = json.loads(
        kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/iris")
    )
    (container,) = raw["containers"]
    assert container["name"] == "server"
    assert set(container["usage"]) == {"cpu", "memory"}


GATEWAY = "127.0.0.1:8081"  # the gateway's host port (hack/devcluster/layout.py)


def _through_gateway(host: str, *, address: str = GATEWAY, seconds: float = 30) -> dict[str, Any]:
    """POST the rows to the gateway with `Host: host` until it routes them (a new Ingress or
    HTTPRoute takes Traefik a moment); the answer's JSON."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        req = urllib.request.Request(
            f"http://{address}/v1/models/iris:predict",
            data=json.dumps({"instances": ROWS}).encode(),
            headers={"Content-Type": "application/json", "Host": host},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                answer: dict[str, Any] = json.loads(resp.read())
                return answer
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code}"
        except OSError as err:
            last = str(err)
        time.sleep(0.5)
    pytest.fail(f"the gateway on {address} never routed {host}: {last}")


def test_gateway_routes_an_ingress_of_the_charts_class(namespace: str, iris: object) -> None:
    host = f"iris-{namespace}.example.com"
    apply(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "iris", "namespace": namespace},
            "spec": {
                "ingressClassName": "istio",
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "iris", "port": {"number": 80}}
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
        }
    )
    assert _through_gateway(host)["predictions"] == [1, 1]


def test_gateway_routes_an_httproute_on_a_gateway_of_the_charts_class(
    namespace: str, iris: object
) -> None:
    host = f"iris-{namespace}.gateway.example.com"
    apply(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "gatewayClassName": "envoy",
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
            },
        }
    )
    apply(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "iris", "namespace": namespace},
            "spec": {
                "parentRefs": [{"name": "web"}],
                "hostnames": [host],
                "rules": [{"backendRefs": [{"name": "iris", "port": 80}]}],
            },
        }
    )
    kubectl("wait", "-n", namespace, "gateway/web", "--for=condition=Programmed", "--timeout=60s")
    assert _through_gateway(host)["predictions"] == [1, 1]
    route = json.loads(kubectl("get", "-n", namespace, "httproute/iris", "-o", "json"))
    (parent,) = route["status"]["parents"]
    accepted = {c["type"]: c["status"] for c in parent["conditions"]}
    assert accepted.get("Accepted") == "True" and accepted.get("ResolvedRefs") == "True", parent


def test_gateway_listens_on_loopback_only(namespace: str, iris: object) -> None:
    # the same port on the node's own address (10.250.0.1) does not answer
    with socket.socket() as sock:
        sock.settimeout(3)
        assert sock.connect_ex(("10.250.0.1", int(GATEWAY.rsplit(":", 1)[1]))) != 0
