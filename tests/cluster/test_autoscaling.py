"""The local cluster's autoscaling add-ons (make cluster-up: hack/devcluster/autoscaling.py):
Prometheus scrapes the model server pods by their annotations, and KEDA serves the external
metrics API through which the HPA it makes scales a Deployment."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from cluster_kube import ROWS, apply, eventually, image, kubectl, pinned

PROMETHEUS = "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy"
PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"  # what a KEDA trigger names


def promql(query: str) -> list[dict[str, Any]]:
    """An instant query, through the apiserver's service proxy."""
    args = urllib.parse.urlencode({"query": query})
    body = json.loads(kubectl("get", "--raw", f"{PROMETHEUS}/api/v1/query?{args}"))
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def predict(namespace: str) -> dict[str, Any]:
    """POST the rows to the iris Service, through the apiserver's service proxy."""
    path = f"/api/v1/namespaces/{namespace}/services/iris:80/proxy/v1/models/iris:predict"
    out = kubectl("create", "--raw", path, "-f", "-", stdin=json.dumps({"instances": ROWS}))
    answer: dict[str, Any] = json.loads(out)
    return answer


def test_prometheus_scrapes_the_model_servers_request_counter(namespace: str, iris: object) -> None:
    for _ in range(3):
        assert predict(namespace)["predictions"] == [1, 1]
    query = f'inference_requests_total{{namespace="{namespace}",pod="iris",model_name="iris"}}'

    def counted() -> list[dict[str, Any]] | None:
        series = promql(query)
        return series if sum(float(s["value"][1]) for s in series) >= 3 else None

    series = eventually(counted, what=f"Prometheus to count 3 requests: {query}", seconds=60)
    labels = series[0]["metric"]
    # the kserve-pods job (prometheus.kserve.io/port|path), with the pod's labels
    assert labels["job"] == "kserve-pods" and labels["app"] == "iris", labels


def test_prometheus_scrapes_pods_by_the_prometheus_io_annotations() -> None:
    # Prometheus' own pod carries prometheus.io/scrape|port|path
    (up,) = promql('up{job="kubernetes-pods",namespace="monitoring"}')
    assert up["metric"]["pod"].startswith("prometheus-") and up["value"][1] == "1", up


def _deployment(namespace: str, name: str) -> dict[str, object]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "pause", "image": image("pause")}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    }


def _scaled_object(namespace: str, name: str, trigger: dict[str, Any]) -> dict[str, object]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"name": name},
            "pollingInterval": 5,
            "minReplicaCount": 1,
            "maxReplicaCount": 2,
            "triggers": [trigger],
        },
    }


def _condition(namespace: str, kind: str, name: str, type_: str) -> dict[str, Any] | None:
    obj = json.loads(kubectl("get", "-n", namespace, f"{kind}/{name}", "-o", "json"))
    conditions = obj.get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == type_ and c["status"] != "Unknown"), None)


def test_keda_scales_a_deployment_1_to_2_through_the_external_metrics_api(namespace: str) -> None:
    apply(_deployment(namespace, "scaled"))
    # 15 against a threshold of 10 per replica: two replicas
    trigger = {
        "type": "prometheus",
        "metadata": {"serverAddress": PROMETHEUS_URL, "query": "vector(15)", "threshold": "10"},
    }
    apply(_scaled_object(namespace, "scaled", trigger))
    ready = eventually(
        lambda: _condition(namespace, "scaledobject", "scaled", "Ready"),
        what="the ScaledObject's Ready condition",
        seconds=60,
    )
    assert ready["status"] == "True", ready
    so = json.loads(kubectl("get", "-n", namespace, "scaledobject/scaled", "-o", "json"))
    (metric,) = so["status"]["externalMetricNames"]
    # what the HPA reads: KEDA's metrics server, behind the aggregation layer
    selector = urllib.parse.quote("scaledobject.keda.sh/name=scaled")
    raw = json.loads(
        kubectl(
            "get",
            "--raw",
            f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}"
            f"?labelSelector={selector}",
        )
    )
    (item,) = raw["items"]
    assert item["metricName"] == metric and item["value"] == "15", item

    def two_ready() -> dict[str, Any] | None:
        dep = json.loads(kubectl("get", "-n", namespace, "deployment/scaled", "-o", "json"))
        return dep if dep["status"].get("readyReplicas") == 2 else None

    dep = eventually(two_ready, what="the Deployment to scale to 2 Ready replicas", seconds=120)
    assert dep["spec"]["replicas"] == 2
    hpa = json.loads(kubectl("get", "-n", namespace, "hpa/keda-hpa-scaled", "-o", "json"))
    assert hpa["spec"]["maxReplicas"] == 2 and hpa["status"]["desiredReplicas"] == 2, hpa["status"]


def test_keda_refuses_a_trigger_type_its_build_leaves_out(namespace: str) -> None:
    apply(_deployment(namespace, "refused"))
    trigger = {"type": "kafka", "metadata": {"bootstrapServers": "kafka:9092", "topic": "t"}}
    apply(_scaled_object(namespace, "refused", trigger))
    ready = eventually(
        lambda: _condition(namespace, "scaledobject", "refused", "Ready"),
        what="the ScaledObject's Ready condition",
        seconds=60,
    )
    assert ready["status"] == "False", ready

    def refused() -> list[str] | None:
        out = kubectl(
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            "involvedObject.name=refused,reason=KEDAScalerFailed",
            "-o",
            "jsonpath={range .items[*]}{.message}{'\\n'}{end}",
        )
        return out.splitlines() or None

    messages = eventually(refused, what="KEDA's KEDAScalerFailed event", seconds=60)
    assert any("kafka" in m and "this build of KEDA" in m for m in messages), messages


def test_keda_is_the_pinned_build() -> None:
    logs = kubectl("logs", "-n", "keda", "deployment/keda-operator")
    assert f"KEDA Version: {pinned('KEDA_VERSION')}" in logs, logs[:2000]
