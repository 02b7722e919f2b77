"""examples/autoscaling: one InferenceService per autoscaler class, each building the scaler
its comment promises (and no other)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_controller import build, config, runtimes, spec
from kserve_controller.api.inferenceservice import InferenceService

from .conftest import DATA, load_yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "autoscaling"


# the chart's ConfigMap key, as `helm install kserve` renders it by default
ACTIVATOR = {
    "activator": '{"host": "kserve-activator.kserve.svc.cluster.local", '
    '"metricsUrl": "http://kserve-activator.kserve.svc.cluster.local:9091"}'
}


def scalers(name: str, *, kinds: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load((EXAMPLES / name).read_text())
    InferenceService.model_validate(raw)
    raw["metadata"].setdefault("namespace", "default")
    isvc = spec.parse(raw)
    cfg = config.parse(ACTIVATOR)
    spec.check_supported(isvc, config=cfg)
    cluster = load_yaml(DATA / "clusterservingruntimes.yaml")
    assert isvc.model is not None
    runtime = runtimes.select(isvc.model, namespaced=[], cluster=cluster)
    objs = build.all_objects(isvc, runtime=runtime, config=cfg).objects
    wanted = {"HorizontalPodAutoscaler", "ScaledObject", *kinds}
    return {o["kind"]: o for o in objs if o["kind"] in wanted}


def test_there_is_one_example_per_class() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == [
        "hpa.yaml", "keda-cpu.yaml", "keda-prometheus.yaml", "keda-scale-to-zero.yaml",
        "none.yaml"]  # fmt: skip


def test_hpa() -> None:
    found = scalers("hpa.yaml")
    assert list(found) == ["HorizontalPodAutoscaler"]
    assert found["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 5


@pytest.mark.parametrize(("name", "trigger"), [("keda-cpu.yaml", "cpu"),
                                               ("keda-prometheus.yaml", "prometheus")])  # fmt: skip
def test_keda(name: str, trigger: str) -> None:
    found = scalers(name)
    assert list(found) == ["ScaledObject"]
    assert [t["type"] for t in found["ScaledObject"]["spec"]["triggers"]] == [trigger]


def test_none() -> None:
    assert scalers("none.yaml") == {}


def test_keda_scale_to_zero_wakes_on_the_activator() -> None:
    found = scalers("keda-scale-to-zero.yaml", kinds=("Ingress",))
    scaled = found["ScaledObject"]["spec"]
    assert [t["type"] for t in scaled["triggers"]] == ["metrics-api"]
    assert (scaled["minReplicaCount"], scaled["cooldownPeriod"]) == (0, 60)
    rules = found["Ingress"]["spec"]["rules"]
    backends = {r["http"]["paths"][0]["backend"]["service"]["name"] for r in rules}
    assert backends == {"sklearn-iris-scale-to-zero-predictor-activator"}
