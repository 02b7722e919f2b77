"""ServingRuntime, InferenceGraph, TrainedModel and ClusterStorageContainer rules, checked by
the apiserver itself (what upstream's webhooks checked)."""

from __future__ import annotations

import copy
from typing import Any

import charts_kube
import kubernetes.client
import pytest
from charts_kube import Installed
from kubernetes.client.rest import ApiException

NAMESPACE = "other-kinds"
RUNTIME: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1alpha1",
    "kind": "ServingRuntime",
    "metadata": {"name": "my-sklearn"},
    "spec": {
        "supportedModelFormats": [{"name": "sklearn", "version": "1", "autoSelect": True}],
        "protocolVersions": ["v1", "v2"],
        "containers": [{"name": "kserve-container", "image": "example/sklearn:1"}],
    },
}
GRAPH: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1alpha1",
    "kind": "InferenceGraph",
    "metadata": {"name": "dog-breed"},
    "spec": {
        "nodes": {
            "root": {
                "routerType": "Sequence",
                "steps": [
                    {"name": "cat-dog", "serviceName": "cat-dog-classifier"},
                    {"name": "breed", "nodeName": "split", "data": "$request"},
                ],
            },
            "split": {
                "routerType": "Splitter",
                "steps": [
                    {"serviceName": "breed-a", "weight": 70},
                    {"serviceName": "breed-b", "weight": 30},
                ],
            },
        }
    },
}


@pytest.fixture(scope="module")
def ns(charts: Installed) -> str:
    charts_kube.ensure_namespace(charts.client, NAMESPACE)
    return NAMESPACE


def with_spec(base: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    obj["metadata"]["name"] = name
    obj["spec"].update(changes)
    return obj


def test_runtime_and_graph_from_upstream_docs_are_accepted(charts: Installed, ns: str) -> None:
    for obj in (RUNTIME, GRAPH):
        stored = charts_kube.apply(charts.client, obj, namespace=ns)
        assert stored["spec"] == obj["spec"]


def test_trained_model_is_accepted(charts: Installed, ns: str) -> None:
    tm = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "TrainedModel",
        "metadata": {"name": "model1"},
        "spec": {
            "inferenceService": "mms",
            "model": {"storageUri": "gs://b/m1", "framework": "sklearn", "memory": "256Mi"},
        },
    }
    assert charts_kube.apply(charts.client, tm, namespace=ns)["spec"] == tm["spec"]


@pytest.mark.parametrize(
    ("obj", "field", "words"),
    [
        (
            with_spec(RUNTIME, "no-kserve-container", containers=[{"name": "x", "image": "i"}]),
            "spec.containers",
            "kserve-container",
        ),
        (
            with_spec(
                RUNTIME,
                "two-priorities",
                supportedModelFormats=[
                    {"name": "sklearn", "autoSelect": True, "priority": 1},
                    {"name": "sklearn", "autoSelect": True, "priority": 2},
                ],
            ),
            "spec.supportedModelFormats",
            "different priorities",
        ),
        (
            with_spec(
                RUNTIME, "priority-zero", supportedModelFormats=[{"name": "x", "priority": 0}]
            ),
            "spec.supportedModelFormats[0].priority",
            "greater than or equal to 1",
        ),
        (
            with_spec(RUNTIME, "no-containers", containers=[]),
            "spec.containers",
            "",
        ),
        (
            with_spec(GRAPH, "no-root", nodes={"a": GRAPH["spec"]["nodes"]["split"]}),
            "spec.nodes",
            "root",
        ),
        (
            with_spec(
                GRAPH,
                "bad-weights",
                nodes={
                    "root": {
                        "routerType": "Splitter",
                        "steps": [{"serviceName": "a", "weight": 60}, {"serviceName": "b"}],
                    }
                },
            ),
            "spec.nodes[root].steps",
            "add up to 100",
        ),
        (
            with_spec(
                GRAPH,
                "two-targets",
                nodes={
                    "root": {
                        "routerType": "Sequence",
                        "steps": [{"serviceName": "a", "nodeName": "b"}],
                    }
                },
            ),
            "spec.nodes[root].steps[0]",
            "exactly one of nodeName, serviceName, serviceUrl",
        ),
        (
            with_spec(GRAPH, "router-type", nodes={"root": {"routerType": "Random"}}),
            "spec.nodes.root.routerType",
            "Unsupported value",
        ),
    ],
    ids=lambda v: v["metadata"]["name"] if isinstance(v, dict) else None,
)
def test_broken_runtimes_and_graphs_are_refused_naming_the_field(
    charts: Installed, ns: str, obj: dict[str, Any], field: str, words: str
) -> None:
    message = charts_kube.refusal(charts.client, obj, namespace=ns)
    assert field in message and words in message, message


def test_cluster_storage_container_needs_exactly_one_uri_matcher(charts: Installed) -> None:
    custom = kubernetes.client.CustomObjectsApi(charts.client)
    csc = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterStorageContainer",
        "metadata": {"name": "both-matchers"},
        "spec": {
            "container": {"name": "storage-initializer", "image": "example/init:1"},
            "supportedUriFormats": [{"prefix": "s3://", "regex": "s3://.*"}],
        },
    }
    with pytest.raises(ApiException) as info:
        custom.create_cluster_custom_object(
            "serving.kserve.io", "v1alpha1", "clusterstoragecontainers", csc
        )
    assert "spec.supportedUriFormats[0]" in info.value.body
    assert "exactly one of prefix, regex" in info.value.body
