"""Upstream's samples (tests/data/upstream) validate with our pydantic models too, as
`make serve` reads them without an apiserver; the apiserver side is
tests/integration/charts/test_charts_upstream_parity.py."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import yaml

from kserve_controller.api.inferencegraph import InferenceGraph
from kserve_controller.api.inferenceservice import InferenceService
from kserve_controller.api.servingruntime import ServingRuntime

DATA = Path(__file__).resolve().parents[2] / "data" / "upstream"
SAMPLES = sorted(DATA.rglob("*.yaml"))
MODELS: dict[str, type[pydantic.BaseModel]] = {
    "InferenceService": InferenceService,
    "ServingRuntime": ServingRuntime,
    "ClusterServingRuntime": ServingRuntime,
    "InferenceGraph": InferenceGraph,
}


def differs(path: Path) -> bool:
    return any(line.startswith("# differs:") for line in path.read_text().splitlines()[:5])


@pytest.mark.parametrize("path", SAMPLES, ids=[str(p.relative_to(DATA)) for p in SAMPLES])
def test_upstream_sample_validates(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    model = MODELS[document["kind"]]
    if differs(path):
        with pytest.raises(pydantic.ValidationError):
            model.model_validate(document)
    else:
        model.model_validate(document)
