"""The apiserver itself validates InferenceServices: upstream-style specs are accepted,
broken ones are refused with the field named (server-side apply, strict field validation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import charts_kube
import pytest
import yaml
from charts_kube import Installed

DATA = charts_kube.REPO / "tests" / "data" / "isvc"
VALID = sorted((DATA / "valid").glob("*.yaml"))
INVALID = sorted((DATA / "invalid").glob("*.yaml"))
NAMESPACE = "corpus"


def expectation(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} has no '# expect: <field>' line")


@pytest.fixture(scope="module")
def namespace(charts: Installed) -> str:
    charts_kube.ensure_namespace(charts.client, NAMESPACE)
    return NAMESPACE


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_corpora_are_big_enough() -> None:
    assert len(VALID) >= 15 and len(INVALID) >= 15


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_spec_is_accepted_unchanged(charts: Installed, namespace: str, path: Path) -> None:
    obj = load(path)
    stored = charts_kube.apply(charts.client, obj, namespace=namespace)
    assert stored["spec"] == obj["spec"], "the apiserver pruned or changed fields"


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_spec_is_refused_naming_the_field(
    charts: Installed, namespace: str, path: Path
) -> None:
    message = charts_kube.refusal(charts.client, load(path), namespace=namespace)
    assert expectation(path) in message, message


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_spec_is_refused_by_a_strict_create_too(
    charts: Installed, namespace: str, path: Path
) -> None:
    message = charts_kube.create_refusal(charts.client, load(path), namespace=namespace)
    assert expectation(path).split("[")[0] in message, message


def test_kubectl_style_get_shows_the_ready_column_path(charts: Installed, namespace: str) -> None:
    table = charts.client.call_api(
        f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices",
        "GET",
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        response_type="object",
        _return_http_data_only=True,
    )
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:5] == ["Name", "URL", "Ready", "Prev", "Latest"]
