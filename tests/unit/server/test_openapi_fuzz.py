"""A bounded schemathesis run against our own OpenAPI document: no request may get a 5xx."""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from kserve_server.rest import openapi

MODEL_NAMES = ["sklearn-iris", "intent-classifier", "nope"]


def _document() -> dict[str, Any]:
    """Our document, with path names drawn from real and unknown models so requests reach them."""
    document = copy.deepcopy(openapi.document())
    for item in document["paths"].values():
        for op in item.values():
            for param in op.get("parameters", []):
                if param["name"] == "name":
                    param["schema"] = {"type": "string", "enum": MODEL_NAMES}
    return document


schema = schemathesis.openapi.from_dict(_document())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, live_server: str) -> None:
    response = case.call(base_url=f"http://{live_server}")
    case.validate_response(response, checks=[checks.content_type_conformance])
    # 501 is the documented answer of :explain for models without an explainer
    allowed = {501} if case.path.endswith(":explain") else set()
    assert response.status_code < 500 or response.status_code in allowed, (
        f"{case.method} {case.formatted_path} → {response.status_code} {response.text[:300]}"
    )
