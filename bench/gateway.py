"""What the local cluster's gateway adds: V1 iris at N connections through Traefik vs direct to
the model's Service, from the node (wrk in the host's network namespace reaches ClusterIPs
through kube-proxy, as a pod on this one-node cluster does).

    make cluster-up
    PYTHONPATH=. .venv/bin/python -m bench.gateway --kubeconfig "$(hack/cluster/up.sh kubeconfig)"

It deploys what an InferenceService's predictor is, by itself (namespace gateway-bench: our
model-server image with the iris model from a ConfigMap, a Service, an Ingress of the chart's
class for host iris.gateway-bench.example.com), so no chart or model store is needed, and
removes it after. Rounds alternate direct and gateway so drift on a shared machine falls on
both; the figures are medians over rounds. `--cells 16 16:80 1` (the default): per cell, N
connections, each pausing D ms before each request when given (a paced load: at 16 connections
as fast as answered one model-server pod is saturated, and a p50 then measures its queue, not
the gateway). Writes bench/results/gateway-<time>.json.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import io
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

from bench import load

REPO = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "post.lua"
WRK_CORE = 0
NAMESPACE = "gateway-bench"
HOST = f"iris.{NAMESPACE}.example.com"
IMAGE = "registry.kserve-py.test/kserve-py/model-server:0.1.0"
INGRESS_CLASS = "istio"  # charts/kserve's default, which the local cluster's Traefik serves


def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [str(REPO / "bin" / "kubectl"), "--kubeconfig", kubeconfig, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def iris_model() -> bytes:
    import joblib
    from sklearn import datasets, svm

    iris = datasets.load_iris()
    buf = io.BytesIO()
    joblib.dump(svm.SVC(gamma="scale").fit(iris.data, iris.target), buf)
    return buf.getvalue()


def manifests() -> list[dict[str, Any]]:
    labels = {"app": "iris"}
    meta = {"name": "iris", "namespace": NAMESPACE}
    server = {
        "name": "kserve-container",
        "image": IMAGE,
        "args": ["--model_name=sklearn-iris", "--model_dir=/mnt/models", "--http_port=8080"],
        "ports": [{"containerPort": 8080, "name": "http"}],
        "readinessProbe": {
            "httpGet": {"path": "/v1/models/sklearn-iris", "port": 8080},
            "periodSeconds": 1,
        },
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
        "volumeMounts": [{"name": "model", "mountPath": "/mnt/models"}],
    }
    backend = {"service": {"name": "iris", "port": {"number": 80}}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "iris-model", "namespace": NAMESPACE},
            "binaryData": {"model.joblib": base64.b64encode(iris_model()).decode()},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [server],
                        "volumes": [{"name": "model", "configMap": {"name": "iris-model"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta,
            "spec": {
                "ingressClassName": INGRESS_CLASS,
                "rules": [
                    {
                        "host": HOST,
                        "http": {
                            "paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]
                        },
                    }
                ],
            },
        },
    ]


def deploy(kubeconfig: str) -> dict[str, tuple[str, str | None]]:
    """Applies the manifests, waits for the pod; direct / gateway -> (URL, Host header)."""
    kubectl(
        kubeconfig,
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests()}),
    )
    kubectl(kubeconfig, "-n", NAMESPACE, "rollout", "status", "deployment/iris", "--timeout=180s")

    def cluster_ip(namespace: str, name: str) -> str:
        service = json.loads(
            kubectl(kubeconfig, "get", "service", name, "-n", namespace, "-o", "json")
        )
        return str(service["spec"]["clusterIP"])

    path = "/v1/models/sklearn-iris:predict"
    return {
        "direct": (f"http://{cluster_ip(NAMESPACE, 'iris')}{path}", None),
        "gateway": (f"http://{cluster_ip('kube-system', 'traefik')}{path}", HOST),
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {
        key: statistics.median(r[key] for r in runs)
        for key in ("p50_us", "p99_us", "rps", "errors")
    }


def cell(text: str) -> tuple[int, int | None]:
    """ "16" -> 16 connections as fast as answered; "16:20" -> each pausing 20 ms between its
    requests (a paced load that need not saturate the model server)."""
    connections, _, delay = text.partition(":")
    return int(connections), int(delay) if delay else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument(
        "--cells",
        nargs="+",
        type=cell,
        default=[cell("16"), cell("16:80"), cell("1")],
        help="CONNECTIONS[:DELAY_MS] per cell (default 16 16:80 1)",
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()
    try:
        where = deploy(args.kubeconfig)
        cells = [measure(where, args, connections=c, delay_ms=d) for c, d in args.cells]
    finally:
        kubectl(args.kubeconfig, "delete", "namespace", NAMESPACE, "--wait=false")
    report(cells, args, loadavg=(load_before, os.getloadavg()))


def routed(url: str, host: str | None) -> None:
    """Waits until the URL answers 200 (a new Ingress takes Traefik a moment)."""
    body = json.dumps({"instances": [load.ROW]}).encode()
    headers = {"Content-Type": "application/json", **({"Host": host} if host else {})}
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(url, data=body, headers=headers)
            with urllib.request.urlopen(request, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def measure(
    where: dict[str, tuple[str, str | None]],
    args: argparse.Namespace,
    *,
    connections: int,
    delay_ms: int | None,
) -> dict[str, Any]:
    """One cell: rounds alternating direct and gateway; medians and what the gateway adds."""
    runs: dict[str, list[dict[str, Any]]] = {"direct": [], "gateway": []}
    with tempfile.TemporaryDirectory(prefix="kserve-gateway-bench-") as tmp:
        body = pathlib.Path(tmp) / "body.json"
        body.write_bytes(json.dumps({"instances": [load.ROW]}).encode())

        def wrk(url: str, host: str | None, seconds: float) -> dict[str, Any]:
            return load.wrk(
                url=url,
                body_file=body,
                connections=connections,
                seconds=seconds,
                core=WRK_CORE,
                script=SCRIPT,
                host=host,
                delay_ms=delay_ms,
            )

        for url, host in where.values():  # warm both paths, unrecorded
            routed(url, host)
            wrk(url, host, 2)
        for _ in range(args.rounds):
            for label, (url, host) in where.items():
                runs[label].append(wrk(url, host, args.seconds))
    direct, gateway = summary(runs["direct"]), summary(runs["gateway"])
    return {
        "connections": connections,
        "delay_ms": delay_ms,
        "direct": direct,
        "gateway": gateway,
        "added_p50_ms": (gateway["p50_us"] - direct["p50_us"]) / 1000,
        "added_p99_ms": (gateway["p99_us"] - direct["p99_us"]) / 1000,
        "rps_ratio": gateway["rps"] / direct["rps"],
        "runs": runs,
    }


def report(
    cells: list[dict[str, Any]],
    args: argparse.Namespace,
    *,
    loadavg: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> None:
    result = {
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "loadavg_before": loadavg[0],
        "loadavg_after": loadavg[1],
        "cells": cells,
    }
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    out = REPO / "bench" / "results" / f"gateway-{stamp}Z.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'cell':12} {'':8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
    for c in cells:
        name = f"{c['connections']} conn" + (f" +{c['delay_ms']}ms" if c["delay_ms"] else "")
        for label in ("direct", "gateway"):
            s = c[label]
            print(
                f"{name:12} {label:8} {s['p50_us'] / 1000:8.2f} {s['p99_us'] / 1000:8.2f} "
                f"{s['rps']:8.0f} {s['errors']:7.0f}"
            )
        print(
            f"{name:12} gateway adds {c['added_p50_ms']:.2f} ms at p50, "
            f"{c['added_p99_ms']:.2f} ms at p99; {c['rps_ratio']:.2f}x the req/s"
        )
    before, after = loadavg[0][0], loadavg[1][0]
    print(f"load average {before:.2f} before, {after:.2f} after ({out.relative_to(REPO)})")


if __name__ == "__main__":
    main()
