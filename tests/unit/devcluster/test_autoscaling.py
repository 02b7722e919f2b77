"""KEDA and Prometheus as the local cluster renders them: TLS that the two KEDA processes and the
APIService agree on, least-privilege RBAC, and the scrape jobs the controller's pods rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from devcluster import autoscaling, controlplane
from devcluster.layout import Layout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Layout, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("cluster")
    layout = Layout(cache=root, run_root=root, image_tag="9.9.9", state=root / "s")
    controlplane.ControlPlane(
        workdir=layout.state,
        node=controlplane.Node(
            name=layout.node_name, ip=layout.node_ip, api_service_ip=layout.api_service_ip
        ),
    ).write_pki()
    text = autoscaling.render(layout)
    assert "@" not in "".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    )
    return layout, [d for d in yaml.safe_load_all(text) if d]


def _find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_keda_runs_our_image_for_both_processes(
    rendered: tuple[Layout, list[dict[str, Any]]],
) -> None:
    layout, docs = rendered
    commands = {}
    for name in ("keda-operator", "keda-metrics-apiserver"):
        (container,) = _find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert container["image"] == layout.image("keda")
        commands[name] = container["command"]
    assert commands == {"keda-operator": ["/keda"], "keda-metrics-apiserver": ["/keda-adapter"]}


def test_keda_certificate_names_both_services_and_the_apiservice_trusts_its_ca(
    rendered: tuple[Layout, list[dict[str, Any]]],
) -> None:
    import base64

    layout, docs = rendered
    secret = _find(docs, "Secret", "keda-tls")["data"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["tls.crt"]))
    names = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    dns = {n.value for n in names}
    # the metrics server dials the operator at its default address, <svc>.<ns>.svc.cluster.local
    assert "keda-operator.keda.svc.cluster.local" in dns
    service = _find(docs, "APIService", autoscaling.EXTERNAL_METRICS_API)["spec"]["service"]
    assert f"{service['name']}.{service['namespace']}.svc" in dns
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {u.dotted_string for u in usages} == {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}
    ca = (layout.pki / "ca.crt").read_bytes()
    assert base64.b64decode(secret["ca.crt"]) == ca
    apiservice = _find(docs, "APIService", autoscaling.EXTERNAL_METRICS_API)["spec"]
    assert base64.b64decode(apiservice["caBundle"]) == ca
    assert "insecureSkipTLSVerify" not in apiservice


def test_rbac_has_no_wildcards_and_no_cluster_wide_secrets(
    rendered: tuple[Layout, list[dict[str, Any]]],
) -> None:
    _, docs = rendered
    roles = [d for d in docs if d["kind"] == "ClusterRole"]
    assert {r["metadata"]["name"] for r in roles} == {
        "kserve-py:keda-operator",
        "kserve-py:prometheus",
    }
    for role in roles:
        for rule in role["rules"]:
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], (role["metadata"]["name"], rule)
                assert not any(v.startswith("*") for v in rule[key]), rule
            assert "secrets" not in rule["resources"], (role["metadata"]["name"], rule)
    (prometheus,) = [r for r in roles if r["metadata"]["name"] == "kserve-py:prometheus"]
    assert prometheus["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    ]


def _jobs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(_find(docs, "ConfigMap", "prometheus")["data"]["prometheus.yml"])
    assert config["global"]["scrape_interval"] == "5s"
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_keeps_pods_by_either_annotation_set_and_never_twice(
    rendered: tuple[Layout, list[dict[str, Any]]],
) -> None:
    _, docs = rendered
    jobs = _jobs(docs)
    assert set(jobs) == {"kubernetes-pods", "kserve-pods"}

    def first(job: str) -> list[tuple[str, str]]:
        return [
            (r["source_labels"][0], r["action"])
            for r in jobs[job]["relabel_configs"]
            if r.get("action") in ("keep", "drop")
        ]

    scrape = "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
    kserve = "__meta_kubernetes_pod_annotationpresent_prometheus_kserve_io_port"
    assert first("kubernetes-pods")[0] == (scrape, "keep")
    # a pod with both annotation sets is scraped by the first job only
    assert first("kserve-pods")[:2] == [(scrape, "drop"), (kserve, "keep")]
    for job in jobs.values():
        targets = {r.get("target_label") for r in job["relabel_configs"]}
        assert {"__address__", "__metrics_path__", "namespace", "pod"} <= targets


def test_prometheus_scrapes_itself_through_pod_discovery(
    rendered: tuple[Layout, list[dict[str, Any]]],
) -> None:
    layout, docs = rendered
    template = _find(docs, "Deployment", "prometheus")["spec"]["template"]
    assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    (container,) = template["spec"]["containers"]
    assert container["image"] == layout.image("prometheus")
    port = int(template["metadata"]["annotations"]["prometheus.io/port"])
    assert {"containerPort": port, "name": "http", "protocol": "TCP"} in container["ports"]
    service = _find(docs, "Service", "prometheus")
    url = f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:"
    assert url + str(service["spec"]["ports"][0]["port"]) == autoscaling.PROMETHEUS_URL


def test_crd_files_say_what_to_run_when_missing(tmp_path: Path) -> None:
    with pytest.raises(controlplane.ToolMissingError, match="make tools"):
        autoscaling.crd_files(tmp_path)
