"""Every case under tests/data/controller/cases renders its golden manifests.

Regenerate after an intended change with `UPDATE_GOLDEN=1 make test-unit`, then read the diff.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml

from kserve_controller import build, config, runtimes, spec
from kserve_controller.api.inferenceservice import InferenceService

from .conftest import DATA, case_names


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(case: Any, cluster: list[dict[str, Any]]) -> str:
    isvc = spec.parse(case.isvc)
    cfg = config.parse(case.configmap_data)
    runtime = None
    if isvc.model is not None:
        runtime = runtimes.select(isvc.model, namespaced=case.serving_runtimes, cluster=cluster)
    desired = build.all_objects(isvc, runtime=runtime, config=cfg)
    header = {"runtime": runtime.name if runtime else None, "unwanted": desired.unwanted}
    return yaml.dump_all([header, *desired.objects], Dumper=_NoAliases, sort_keys=False)


@pytest.mark.parametrize("name", case_names())
def test_case_renders_its_golden_manifests(
    name: str, load_case: Any, cluster_runtimes: Any
) -> None:
    case = load_case(name)
    got = render(case, cluster_runtimes)
    golden = DATA / "golden" / f"{name}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert golden.exists(), f"no golden file {golden}; run with UPDATE_GOLDEN=1"
    assert got == golden.read_text()


@pytest.mark.parametrize("name", case_names())
def test_case_is_a_valid_inference_service(name: str, load_case: Any) -> None:
    # The cases are what users may apply: the CRD models accept every one of them.
    InferenceService.model_validate(load_case(name).isvc)


def test_there_are_the_tutorial_cases_and_at_least_ten_more() -> None:
    names = case_names()
    assert {"sklearn-iris", "intent-classifier"} <= set(names)
    assert len(names) >= 12
