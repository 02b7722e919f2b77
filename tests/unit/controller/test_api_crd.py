"""The chart's CRDs are what the models generate, and the generator keeps them structural."""

import json
from typing import Any

import pytest

from codegen import cli, openapi_snapshot
from codegen import crds as crd_templates
from kserve_controller.api import crd, k8s_fields, openapi


@pytest.fixture(scope="module")
def definitions() -> openapi.Definitions:
    return openapi.Definitions([json.loads(openapi_snapshot.OUTPUT.read_text())])


@pytest.fixture(scope="module")
def crds(definitions: openapi.Definitions) -> dict[str, Any]:
    return crd.all_crds(definitions)


def test_committed_crd_templates_match_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["--check", "crds"])
    assert status == 0, capsys.readouterr().err


def test_inlined_field_lists_match_the_apiserver_snapshot(
    definitions: openapi.Definitions,
) -> None:
    container = definitions.schemas[k8s_fields.CONTAINER_DEFINITION]["properties"]
    pod = definitions.schemas[k8s_fields.POD_SPEC_DEFINITION]["properties"]
    assert set(container) == k8s_fields.CONTAINER
    assert set(pod) == k8s_fields.POD_SPEC


def _nodes(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(schema, dict):
        out.append((path, schema))
        for key, value in schema.get("properties", {}).items():
            out += _nodes(value, f"{path}.{key}")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                out += _nodes(schema[key], f"{path}[]")
    return out


def test_every_schema_node_is_structural(crds: dict[str, Any]) -> None:
    for name, document in crds.items():
        root = document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        text = json.dumps(root)
        assert "$ref" not in text and "x-kubernetes-patch" not in text, name
        for path, node in _nodes(root):
            typed = "type" in node or node.get("x-kubernetes-int-or-string")
            assert typed or node.get("x-kubernetes-preserve-unknown-fields"), f"{name}{path}"
            # Defaults only where a list-map key needs one (ContainerPort.protocol: TCP ...).
            assert node.get("default", "TCP") in ("TCP", ""), f"{name}{path}"


def test_inferenceservice_crd_stays_far_below_etcds_object_limit(crds: dict[str, Any]) -> None:
    size = len(json.dumps(crds["serving.kserve.io_inferenceservices"], separators=(",", ":")))
    assert size < 1_000_000, size


def test_quantities_accept_strings_and_numbers(crds: dict[str, Any]) -> None:
    root = crds["serving.kserve.io_inferenceservices"]["spec"]["versions"][0]["schema"]
    model = root["openAPIV3Schema"]["properties"]["spec"]["properties"]["predictor"]["properties"][
        "model"
    ]
    cpu = model["properties"]["resources"]["properties"]["limits"]["additionalProperties"]
    assert cpu["x-kubernetes-int-or-string"] is True
    assert "pattern" in cpu


def test_inlined_container_name_is_optional_in_model(crds: dict[str, Any]) -> None:
    root = crds["serving.kserve.io_inferenceservices"]["spec"]["versions"][0]["schema"]
    predictor = root["openAPIV3Schema"]["properties"]["spec"]["properties"]["predictor"]
    assert predictor["properties"]["model"]["required"] == ["modelFormat"]
    assert "required" not in predictor
    assert "name" in predictor["properties"]["model"]["properties"]


def test_component_cel_rules_are_kept_on_the_predictor(crds: dict[str, Any]) -> None:
    root = crds["serving.kserve.io_inferenceservices"]["spec"]["versions"][0]["schema"]
    predictor = root["openAPIV3Schema"]["properties"]["spec"]["properties"]["predictor"]
    messages = [rule["message"] for rule in predictor["x-kubernetes-validations"]]
    assert any(m.startswith("minReplicas:") for m in messages)
    assert any(m.startswith("exactly one of [sklearn") for m in messages)


def test_helm_template_actions_in_text_are_escaped() -> None:
    text = crd_templates.render_one(
        {"metadata": {"name": "x"}, "spec": {"description": "{{.Name}}"}}
    )
    assert '{{ "{{" }}.Name}}' in text
    assert 'include "kserve-crd.labels"' in text
    assert "helm.sh/resource-policy: keep" in text
