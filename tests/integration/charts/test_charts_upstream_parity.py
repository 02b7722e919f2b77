"""Admission parity with upstream KServe, both ways, on the real apiserver with our CRDs.

tests/data/upstream holds every InferenceService, ServingRuntime, ClusterServingRuntime and
InferenceGraph of upstream's docs/samples/v1beta1 and config/runtimes (kserve/kserve) and of the
website's docs (kserve/website) that upstream's own CRDs accept; ours must accept each too.
tests/data/upstream-refused holds, for each error upstream's validating webhooks return, one
object upstream refuses; ours must refuse it at admission, naming the field. Each file names its
upstream source and commit. Server-side dry-run: nothing is stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import charts_kube
import kubernetes.client
import pytest
import yaml
from charts_kube import Installed
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.integration

DATA = charts_kube.REPO / "tests" / "data"
ACCEPTED = sorted((DATA / "upstream").rglob("*.yaml"))
REFUSED = sorted((DATA / "upstream-refused").glob("*.yaml"))
NAMESPACE = "upstream-parity"
CLUSTER_KINDS = {"ClusterServingRuntime"}


def header(path: Path, key: str) -> str | None:
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            return None
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def params(paths: list[Path], root: Path) -> list[Any]:
    out = []
    for path in paths:
        why = header(path, "differs")  # a difference from upstream we keep on purpose
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        out.append(pytest.param(path, id=str(path.relative_to(root).with_suffix("")), marks=marks))
    return out


def dry_run_create(client: kubernetes.client.ApiClient, obj: dict[str, Any]) -> Any:
    """What `kubectl create --dry-run=server` sends: admission runs in full, nothing is stored."""
    group, version = obj["apiVersion"].split("/")
    plural = obj["kind"].lower() + "s"
    if obj["kind"] in CLUSTER_KINDS:
        path = f"/apis/{group}/{version}/{plural}"
    else:
        path = f"/apis/{group}/{version}/namespaces/{NAMESPACE}/{plural}"
    body = {**obj, "metadata": {**obj["metadata"]}}
    body["metadata"].pop("namespace", None)
    if obj["kind"] in CLUSTER_KINDS:  # the chart installs some of upstream's runtime names
        body["metadata"]["name"] = f"upstream-{body['metadata']['name']}"
    return client.call_api(
        path,
        "POST",
        query_params=[("dryRun", "All"), ("fieldValidation", "Strict")],
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body=body,
        response_type="object",
        _return_http_data_only=True,
    )


@pytest.fixture(scope="module")
def client(charts: Installed) -> kubernetes.client.ApiClient:
    charts_kube.ensure_namespace(charts.client, NAMESPACE)
    return charts.client


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_both_corpora_are_there() -> None:
    assert len(ACCEPTED) >= 200 and len(REFUSED) >= 90
    for path in [*ACCEPTED, *REFUSED]:
        assert header(path, "upstream"), f"{path.name} names no upstream source"


@pytest.mark.parametrize("path", params(ACCEPTED, DATA / "upstream"))
def test_upstream_sample_is_accepted(client: kubernetes.client.ApiClient, path: Path) -> None:
    try:
        dry_run_create(client, load(path))
    except ApiException as err:
        pytest.fail(f"refused (HTTP {err.status}): {json.loads(err.body)['message']}")


@pytest.mark.parametrize("path", params(REFUSED, DATA / "upstream-refused"))
def test_what_upstream_refuses_is_refused_naming_the_field(
    client: kubernetes.client.ApiClient, path: Path
) -> None:
    expect = header(path, "expect")
    assert expect, f"{path.name} has no '# expect: <field>' line"
    try:
        dry_run_create(client, load(path))
    except ApiException as err:
        assert err.status in (400, 422), f"unexpected HTTP {err.status}: {err.body}"
        message = str(json.loads(err.body)["message"])
        assert expect in message, message
        return
    pytest.fail("accepted")
