"""A keda-class InferenceService's conditions follow its ScaledObjects (through status.compute)."""

from __future__ import annotations

from typing import Any

from kserve_controller import config, spec, status
from kserve_controller.runtimes import Runtime

NOW = "2026-12-07T12:00:00Z"
KEDA = {"serving.kserve.io/autoscalerClass": "keda"}
MODEL = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}}
AVAILABLE = {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}


def isvc(annotations: dict[str, str] | None = None, **parts: Any) -> spec.Isvc:
    return spec.parse(
        {
            "metadata": {"name": "iris", "namespace": "ml", "uid": "u", "generation": 1,
                         "annotations": annotations if annotations is not None else KEDA},
            "spec": {"predictor": MODEL, **parts},
        }
    )  # fmt: skip


def deployment(name: str = "iris-predictor", *, replicas: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": replicas},
        "status": {"conditions": [AVAILABLE]},
    }


def scaled(name: str = "iris-predictor", **conds: tuple[str, str, str]) -> dict[str, Any]:
    """A ScaledObject whose status KEDA wrote: type -> (status, reason, message)."""
    written = [
        {"type": t, "status": s, "reason": r, "message": m} for t, (s, r, m) in conds.items()
    ]
    return {"metadata": {"name": name}, "status": {"conditions": written}}


def compute(item: spec.Isvc, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "deployment": deployment(),
        "ingress_obj": {"metadata": {"name": "iris"}},
        "pods": [],
        "runtime": Runtime(name="kserve-sklearnserver", kind="ClusterServingRuntime", spec={}),
        "config": config.parse(None),
        "now": NOW,
    }
    args.update(kw)
    return status.compute(item, **args)


def cond(st: dict[str, Any], kind: str) -> dict[str, Any]:
    found = status.condition(st, kind)
    assert found is not None, kind
    return found


IDLE = ("False", "ScalerNotActive", "Scaling is not performed because triggers are not active")
HEALTHY = {
    "Ready": ("True", "ScaledObjectReady", "ScaledObject is defined correctly and is ready"),
    "Active": ("True", "ScalerActive", "Scaling is performed because triggers are active"),
}


def test_a_ready_scaled_object_leaves_the_deployment_to_say_ready() -> None:
    st = compute(isvc(), scaled_objects={"predictor": scaled(**HEALTHY)})
    assert cond(st, "PredictorReady")["status"] == "True"
    assert status.is_ready(st)


def test_a_scaled_object_keda_cannot_read_makes_the_predictor_not_ready_with_kedas_words() -> None:
    refused = "failed to query prometheus: connection refused"
    failing = scaled(Ready=("False", "ScaledObjectCheckFailed", refused), Active=IDLE)
    st = compute(isvc(), scaled_objects={"predictor": failing})
    predictor = cond(st, "PredictorReady")
    assert (predictor["status"], predictor["reason"]) == ("False", "ScaledObjectCheckFailed")
    assert predictor["message"] == (
        "ScaledObject iris-predictor: failed to query prometheus: connection refused"
    )
    assert cond(st, "Ready")["reason"] == "ScaledObjectCheckFailed"
    assert not status.is_ready(st)


def test_scaled_to_zero_is_ready_and_says_so() -> None:
    idle = scaled(Ready=HEALTHY["Ready"], Active=IDLE)
    st = compute(isvc(), deployment=deployment(replicas=0), scaled_objects={"predictor": idle})
    predictor = cond(st, "PredictorReady")
    assert (predictor["status"], predictor["reason"]) == ("True", "ScaledToZero")
    assert (
        "scaled to zero by ScaledObject iris-predictor (no trigger is active)"
        in (predictor["message"])
    )
    ready = cond(st, "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "ScaledToZero")
    assert status.is_ready(st)


def test_a_scaled_object_keda_has_not_looked_at_yet_changes_nothing() -> None:
    st = compute(isvc(), scaled_objects={"predictor": {"metadata": {"name": "iris-predictor"}}})
    assert cond(st, "PredictorReady") == {"type": "PredictorReady", "status": "True",
                                          "lastTransitionTime": NOW}  # fmt: skip


def test_without_the_crd_the_predictor_names_it() -> None:
    st = compute(isvc(), scaled_objects={"predictor": None}, keda_missing=True)
    predictor = cond(st, "PredictorReady")
    assert (predictor["status"], predictor["reason"]) == ("False", "KEDANotInstalled")
    assert "scaledobjects.keda.sh" in predictor["message"]
    assert "install KEDA" in predictor["message"]
    assert cond(st, "Ready")["reason"] == "KEDANotInstalled"


def test_the_hpa_class_never_reads_scaled_objects() -> None:
    failing = scaled(Ready=("False", "ScaledObjectCheckFailed", "left over"))
    st = compute(isvc(annotations={}), scaled_objects={"predictor": failing}, keda_missing=True)
    assert cond(st, "PredictorReady")["status"] == "True"


def test_each_component_follows_its_own_scaled_object() -> None:
    transformer = {"containers": [{"name": "kserve-container", "image": "example.test/t:1"}]}
    failing = scaled("iris-transformer", Ready=("False", "ScaledObjectCheckFailed", "no cpu"))
    st = compute(
        isvc(transformer=transformer),
        others={"transformer": deployment("iris-transformer")},
        scaled_objects={"predictor": scaled(**HEALTHY), "transformer": failing},
    )
    assert cond(st, "PredictorReady")["status"] == "True"
    assert cond(st, "TransformerReady")["message"] == "ScaledObject iris-transformer: no cpu"
    assert cond(st, "Ready")["status"] == "False"


def test_at_zero_behind_the_activator_a_request_wakes_it() -> None:
    activator = config.parse({"activator": '{"host": "kserve-activator.kserve.svc"}'})
    idle = scaled(Ready=HEALTHY["Ready"], Active=IDLE)
    item = isvc(predictor={**MODEL, "minReplicas": 0})
    st = compute(
        item,
        deployment=deployment(replicas=0),
        scaled_objects={"predictor": idle},
        config=activator,
    )
    predictor = cond(st, "PredictorReady")
    assert (predictor["status"], predictor["reason"]) == ("True", "ScaledToZero")
    assert (
        "a request wakes it: the activator holds requests while it starts" in (predictor["message"])
    )
    assert "not held" not in predictor["message"]
