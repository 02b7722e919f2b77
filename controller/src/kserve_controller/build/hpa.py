"""HorizontalPodAutoscaler `<isvc>-predictor` (autoscaling/v2), unless the class says no."""

from __future__ import annotations

from typing import Any

from kserve_controller.build import names
from kserve_controller.config import ControllerConfig
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

DEFAULT_CPU_TARGET = 80


def wanted(isvc: Isvc) -> bool:
    """Only the `hpa` class (the default) gets an HPA; `none` and `external` do not."""
    return isvc.autoscaler_class == "hpa"


def build(isvc: Isvc, *, config: ControllerConfig) -> Obj:
    name = names.workload(isvc)
    predictor = isvc.predictor
    min_replicas = max(int(predictor.get("minReplicas") or 1), 1)
    max_replicas = max(int(predictor.get("maxReplicas") or 0), min_replicas)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": names.metadata(
            isvc,
            name=name,
            labels=names.labels(
                isvc, disallowed=config.inference_service.service_label_disallowed_list
            ),
        ),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": _metrics(predictor),
        },
    }


def _metrics(predictor: Obj) -> list[Obj]:
    auto = (predictor.get("autoScaling") or {}).get("metrics")
    if auto:
        return [_resource(m["resource"]) for m in auto if m.get("type") == "Resource"]
    metric = predictor.get("scaleMetric") or "cpu"
    target = predictor.get("scaleTarget")
    if metric == "memory":
        if target is None:
            return []
        return [_utilization("memory", int(target))]
    return [_utilization("cpu", int(target) if target is not None else DEFAULT_CPU_TARGET)]


def _utilization(resource: str, percent: int) -> Obj:
    return {
        "type": "Resource",
        "resource": {
            "name": resource,
            "target": {"type": "Utilization", "averageUtilization": percent},
        },
    }


def _resource(resource: Obj) -> Obj:
    target = dict(resource.get("target") or {})
    target.setdefault("type", "Utilization")
    if target["type"] == "Utilization" and "averageUtilization" not in target:
        target["averageUtilization"] = DEFAULT_CPU_TARGET
    return {"type": "Resource", "resource": {"name": resource.get("name", "cpu"), "target": target}}
