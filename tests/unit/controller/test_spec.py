"""Reading an InferenceService: shorthand == model; what is not supported says so."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import config, spec
from kserve_controller.build import names
from kserve_controller.errors import InvalidSpec, NotSupported


def isvc(predictor: dict[str, Any], **extra: Any) -> dict[str, Any]:
    meta = extra.pop("metadata", {})
    return {
        "metadata": {"name": "m", "namespace": "ns", "uid": "u", **meta},
        "spec": {"predictor": predictor, **extra.pop("spec", {})},
        **extra,
    }


def test_shorthand_and_model_read_the_same() -> None:
    a = spec.parse(isvc({"sklearn": {"storageUri": "gs://b/m", "args": ["--x"]}}))
    b = spec.parse(
        isvc(
            {
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "storageUri": "gs://b/m",
                    "args": ["--x"],
                }
            }
        )
    )
    assert a.model == b.model


def test_onnx_shorthand_defaults_to_v2() -> None:
    assert spec.parse(isvc({"onnx": {"storageUri": "gs://b/m"}})).model.protocol == "v2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("predictor", "words"),
    [
        ({}, r"spec.predictor: .*exactly one of \[sklearn, .*\] \(or custom containers\)"),
        ({"sklearn": {}, "xgboost": {}}, r"exactly one of \[sklearn, xgboost, "),
        ({"model": {"storageUri": "gs://b"}}, "spec.predictor.model.modelFormat: Field required"),
    ],
)
def test_unreadable_predictors(predictor: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidSpec, match=words):
        spec.parse(isvc(predictor))


MODEL = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}}
CUSTOM = {"containers": [{"image": "example.test/t:1"}]}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (isvc(MODEL, spec={"explainer": {"art": {"type": "SquareAttack"}}}), "spec.explainer.art"),
        (
            isvc(MODEL, spec={"transformer": {**CUSTOM, "storageUris": [{"uri": "gs://b"}]}}),
            "spec.transformer.storageUris",
        ),
        (
            isvc(MODEL, spec={"transformer": {**CUSTOM, "canaryTrafficPercent": 10}}),
            "spec.transformer.canaryTrafficPercent is supported on the predictor only",
        ),
        (
            isvc(
                {
                    **MODEL,
                    "logger": {
                        "url": "s3://logs",
                        "storage": {"path": "/p", "key": "k", "parameters": {"format": "parquet"}},
                    },
                }
            ),
            "spec.predictor.logger.storage.parameters.format 'parquet'",
        ),
        (
            isvc(
                MODEL, metadata={"annotations": {"serving.kserve.io/deploymentMode": "Serverless"}}
            ),
            "Knative",
        ),
        (isvc(MODEL, status={"deploymentMode": "ModelMesh"}), "ModelMesh"),
    ],
)
def test_not_supported_is_said(raw: dict[str, Any], words: str) -> None:
    with pytest.raises(NotSupported, match=words):
        spec.check_supported(spec.parse(raw), config=config.parse(None))


def test_knative_default_in_config_is_not_supported_but_the_annotation_wins() -> None:
    cfg = config.parse({"deploy": '{"defaultDeploymentMode": "Serverless"}'})
    raw = isvc(MODEL)
    with pytest.raises(NotSupported):
        spec.check_supported(spec.parse(raw), config=cfg)
    raw = isvc(
        MODEL, metadata={"annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}}
    )
    spec.check_supported(spec.parse(raw), config=cfg)


def test_canary_traffic_percent_on_the_predictor_is_served_but_not_beside_spec_canary() -> None:
    spec.check_supported(
        spec.parse(isvc({**MODEL, "canaryTrafficPercent": 10})), config=config.parse(None)
    )
    both = isvc(
        {**MODEL, "canaryTrafficPercent": 10},
        spec={"canary": [{"predictor": {**MODEL, "name": "c"}, "trafficPercent": 10}]},
    )
    with pytest.raises(InvalidSpec, match="use one of them"):
        spec.check_supported(spec.parse(both), config=config.parse(None))


def test_unknown_autoscaler_class_is_invalid() -> None:
    raw = isvc(MODEL, metadata={"annotations": {"serving.kserve.io/autoscalerClass": "kpa"}})
    with pytest.raises(InvalidSpec) as err:
        spec.check_supported(spec.parse(raw), config=config.parse(None))
    assert err.value.reason == "InvalidAutoscalerClass"


def test_keda_is_served_and_takes_autoscaling_metrics_not_scale_metric() -> None:
    keda = {"annotations": {"serving.kserve.io/autoscalerClass": "keda"}}
    raw = isvc({**MODEL, "minReplicas": 0}, metadata=keda)
    parsed = spec.parse(raw)
    spec.check_supported(parsed, config=config.parse(None))
    scaling = spec.predictor(parsed).scaling
    assert (scaling.wants_keda, scaling.wants_hpa, scaling.min_replicas) == (True, False, 0)
    with pytest.raises(InvalidSpec, match=r"use spec\.predictor\.autoScaling\.metrics") as err:
        spec.check_supported(spec.parse(isvc({**MODEL, "scaleMetric": "cpu"}, metadata=keda)),
                             config=config.parse(None))  # fmt: skip
    assert err.value.reason == "InvalidScaleMetric"


def test_transformer_and_explainer_are_views_with_their_own_names() -> None:
    raw = isvc({**MODEL, "name": "blue"}, spec={"transformer": CUSTOM, "explainer": CUSTOM})
    parsed = spec.parse(raw)
    spec.check_supported(parsed, config=config.parse(None))
    parts = spec.components(parsed)
    assert [p.kind for p in parts] == ["predictor", "transformer", "explainer"]
    assert [names.workload(p) for p in parts] == [
        "m-blue-predictor",
        "m-transformer",
        "m-explainer",
    ]
    # Seen from the transformer, the predictor is still the one the transformer calls.
    assert names.predictor(parts[1]) == "m-blue-predictor"
    assert parts[1].model is None and parts[1].spec.wire() == CUSTOM


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"transformer": {}}, "spec.transformer: .*a transformer is custom containers"),
        (
            {"explainer": {"minReplicas": 1}},
            r"spec.explainer: .*exactly one of \[art, containers\]",
        ),
    ],
)
def test_components_without_containers_are_invalid(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidSpec, match=words) as err:
        spec.parse(isvc(MODEL, spec=extra))
    assert err.value.reason == "InvalidPredictorSpec"


def test_a_component_with_knative_metrics_is_invalid() -> None:
    raw = isvc(MODEL, spec={"transformer": {**CUSTOM, "scaleMetric": "rps"}})
    with pytest.raises(InvalidSpec) as err:
        spec.check_supported(spec.parse(raw), config=config.parse(None))
    assert err.value.reason == "InvalidScaleMetric"


def test_scale_to_zero_idle_seconds_is_a_whole_number() -> None:
    keda = {"serving.kserve.io/autoscalerClass": "keda"}
    good = isvc({**MODEL, "minReplicas": 0}, metadata={"annotations": {**keda, IDLE: "90"}})
    parsed = spec.parse(good)
    spec.check_supported(parsed, config=config.parse(None))
    scaling = spec.predictor(parsed).scaling
    assert (scaling.idle_seconds, scaling.scales_to_zero) == (90, True)
    bad = isvc({**MODEL, "minReplicas": 0}, metadata={"annotations": {**keda, IDLE: "1m"}})
    with pytest.raises(InvalidSpec, match="'1m' is not a whole number of seconds") as err:
        spec.check_supported(spec.parse(bad), config=config.parse(None))
    assert err.value.reason == "InvalidIdleSeconds"


IDLE = "serving.kserve.io/scale-to-zero-idle-seconds"
