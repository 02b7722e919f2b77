"""InferenceGraph → router Deployment, Service, HPA: golden manifests per case, and the rules
users rely on (service URLs, the router's flags, security)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import yaml

from kserve_controller import config as config_mod
from kserve_controller.build import graph as build
from kserve_controller.errors import InvalidSpec

from .conftest import DATA, load_yaml

GRAPHS = DATA / "graphs"
UID = "00000000-0000-0000-0000-0000000000aa"


def load(name: str) -> tuple[dict[str, Any], list[dict[str, Any]], config_mod.ControllerConfig]:
    docs = load_yaml(GRAPHS / f"{name}.yaml")
    graph = docs[0]
    graph["metadata"].setdefault("uid", UID)
    isvcs = [d for d in docs if d["kind"] == "InferenceService"]
    data = next((d["data"] for d in docs if d["kind"] == "ConfigMap"), {})
    return graph, isvcs, config_mod.parse(data)


def render(name: str) -> list[dict[str, Any]]:
    graph, isvcs, config = load(name)
    urls = {i["metadata"]["name"]: build.predict_url(i) or "" for i in isvcs}
    return build.all_objects(graph, spec=build.resolved_spec(graph, urls), config=config)


CASES = sorted(p.stem for p in GRAPHS.glob("*.yaml"))


@pytest.mark.parametrize("name", CASES)
def test_case_renders_its_golden_manifests(name: str) -> None:
    got = yaml.safe_dump_all(render(name), sort_keys=True)
    golden = GRAPHS / "golden" / f"{name}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert golden.exists(), f"no golden file {golden}; run with UPDATE_GOLDEN=1"
    assert got == golden.read_text()


def _by_kind(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objs}


def test_router_gets_the_spec_with_service_urls_resolved() -> None:
    deployment = _by_kind(render("model-chainer"))["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "dog-breed-pipeline"
    assert container["image"] == "registry.kserve-py.test/kserve-py/router:0.1.0"
    assert container["args"][0] == "--graph-json"
    spec = json.loads(container["args"][1])
    steps = spec["nodes"]["root"]["steps"]
    assert steps[0]["serviceUrl"] == (
        "http://cat-dog-classifier-predictor.default.svc.cluster.local"
        "/v1/models/cat-dog-classifier:predict"
    )
    assert steps[1]["serviceUrl"] == (  # protocolVersion v2
        "http://dog-breed-classifier-predictor.default.svc.cluster.local"
        "/v2/models/dog-breed-classifier/infer"
    )
    assert steps[1]["condition"] == '[@this].#(predictions.0=="dog")'


def test_router_pod_is_locked_down_and_probed() -> None:
    objs = _by_kind(render("model-chainer"))
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/readyz",
        "port": 8080,
        "scheme": "HTTP",
    }
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    labels = objs["Deployment"]["metadata"]["labels"]
    assert labels["serving.kserve.io/inferencegraph"] == "dog-breed-pipeline"
    for obj in objs.values():
        assert obj["metadata"]["ownerReferences"][0]["kind"] == "InferenceGraph"
        assert obj["metadata"]["ownerReferences"][0]["uid"] == UID
    assert (
        objs["Service"]["spec"]["selector"] == objs["Deployment"]["spec"]["selector"]["matchLabels"]
    )


def test_router_config_sets_image_resources_and_propagated_headers() -> None:
    objs = _by_kind(render("splitter-config"))
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "mirror.example/router:1"
    assert container["imagePullPolicy"] == "Always"
    assert container["env"] == [{"name": "PROPAGATE_HEADERS", "value": "Authorization,X-Tenant-.*"}]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "512Mi"}
    assert pod["imagePullSecrets"] == [{"name": "pull"}]
    assert pod["serviceAccountName"] == "graph-sa"
    hpa = objs["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60


def test_autoscaler_class_none_means_fixed_replicas_and_no_hpa() -> None:
    objs = _by_kind(render("no-hpa"))
    assert "HorizontalPodAutoscaler" not in objs
    assert objs["Deployment"]["spec"]["replicas"] == 3


def test_service_names_and_urls_wait_for_an_address() -> None:
    graph, isvcs, _ = load("model-chainer")
    assert build.service_names(graph) == {"cat-dog-classifier", "dog-breed-classifier"}
    pending = {**isvcs[0], "status": {}}
    assert build.predict_url(pending) is None


def test_a_node_name_that_is_not_a_node_is_invalid() -> None:
    graph = {
        "metadata": {"name": "g", "namespace": "d"},
        "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [{"nodeName": "x"}]}}},
    }
    with pytest.raises(InvalidSpec, match=r"spec.nodes.root.steps\[0\]: nodeName x is not a node"):
        build.check(graph)


def test_router_key_defaults_when_the_configmap_has_none() -> None:
    router = config_mod.parse({}).router
    assert router.image == "registry.kserve-py.test/kserve-py/router:0.1.0"
    assert (router.cpu_request, router.memory_limit) == ("100m", "1Gi")


def test_a_broken_router_key_is_a_config_error_naming_it() -> None:
    with pytest.raises(Exception, match="'router'"):
        config_mod.parse({"router": "{not json"})
