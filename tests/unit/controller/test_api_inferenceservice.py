"""The InferenceService model reads upstream YAML as users write it, and refuses typos."""

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from kserve_controller.api import inferenceservice

TUTORIAL = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: sklearn-iris
  namespace: ml
spec:
  predictor:
    model:
      modelFormat:
        name: sklearn
      storageUri: "gs://kfserving-examples/models/sklearn/1.0/model"
      resources:
        requests: {cpu: "100m", memory: "512Mi"}
        limits: {cpu: "1", memory: "1Gi"}
"""


def load(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_tutorial_spec_reads_model_format_storage_and_resources() -> None:
    isvc = inferenceservice.InferenceService.model_validate(load(TUTORIAL))
    fmt, model = isvc.spec.predictor.implementation() or ("", None)
    assert (isvc.name, isvc.namespace, fmt) == ("sklearn-iris", "ml", "sklearn")
    assert model is not None
    assert model.storage_uri == "gs://kfserving-examples/models/sklearn/1.0/model"
    assert model.inline()["resources"]["limits"]["memory"] == "1Gi"


def test_round_trip_keeps_the_wire_form() -> None:
    raw = load(TUTORIAL)
    assert inferenceservice.InferenceService.model_validate(raw).wire() == raw


def test_framework_shorthand_is_the_same_implementation_as_model() -> None:
    raw = load(TUTORIAL)
    raw["spec"]["predictor"] = {"sklearn": {"storageUri": "gs://b/m"}}
    isvc = inferenceservice.InferenceService.model_validate(raw)
    fmt, spec = isvc.spec.predictor.implementation() or ("", None)
    assert fmt == "sklearn" and spec is not None and spec.storage_uri == "gs://b/m"


def test_custom_predictor_has_no_implementation_but_keeps_containers() -> None:
    raw = load(TUTORIAL)
    raw["spec"]["predictor"] = {"containers": [{"name": "kserve-container", "image": "x"}]}
    isvc = inferenceservice.InferenceService.model_validate(raw)
    assert isvc.spec.predictor.implementation() is None
    assert isvc.spec.predictor.inline()["containers"][0]["image"] == "x"


def test_component_fields_and_inlined_pod_spec_fields_are_read() -> None:
    raw = load(TUTORIAL)
    raw["spec"]["predictor"].update(
        minReplicas=2,
        maxReplicas=5,
        scaleMetric="cpu",
        scaleTarget=70,
        serviceAccountName="sa",
        nodeSelector={"disk": "ssd"},
        tolerations=[{"key": "k", "operator": "Exists"}],
        priorityClassName="high",
    )
    predictor = inferenceservice.InferenceService.model_validate(raw).spec.predictor
    assert (predictor.min_replicas, predictor.max_replicas, predictor.scale_target) == (2, 5, 70)
    assert predictor.inline() == {
        "serviceAccountName": "sa",
        "nodeSelector": {"disk": "ssd"},
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "priorityClassName": "high",
    }


@pytest.mark.parametrize(
    ("path", "key", "value"),
    [
        (("spec", "predictor", "model"), "storageURI", "gs://x"),
        (("spec", "predictor"), "minReplica", 1),
        (("spec",), "predicter", {}),
        (("spec", "predictor"), "scaleMetric", "gpu"),
        (("spec", "predictor", "model"), "protocolVersion", "v3"),
        (("spec", "predictor"), "canaryTrafficPercent", 101),
    ],
)
def test_typos_and_bad_values_are_refused_naming_the_field(
    path: tuple[str, ...], key: str, value: Any
) -> None:
    raw = load(TUTORIAL)
    node = raw
    for part in path:
        node = node[part]
    node[key] = value
    with pytest.raises(ValidationError, match=key):
        inferenceservice.InferenceService.model_validate(raw)


def test_status_reads_conditions_url_and_model_status() -> None:
    raw = load(TUTORIAL)
    raw["status"] = {
        "observedGeneration": 1,
        "url": "http://sklearn-iris-ml.example.com",
        "address": {"url": "http://sklearn-iris-predictor.ml.svc.cluster.local"},
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "t"}],
        "components": {"predictor": {"url": "http://sklearn-iris-predictor-ml.example.com"}},
        "modelStatus": {"transitionStatus": "UpToDate", "states": {"activeModelState": "Loaded"}},
        "deploymentMode": "Standard",
    }
    status = inferenceservice.InferenceService.model_validate(raw).status
    assert status is not None and status.conditions is not None
    assert status.conditions[0].status == "True"
    assert status.components is not None
    assert status.components["predictor"].url == "http://sklearn-iris-predictor-ml.example.com"
    assert inferenceservice.InferenceService.model_validate(raw).wire() == raw
