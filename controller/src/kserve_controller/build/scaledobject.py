"""A component's KEDA ScaledObject, for the autoscaler class `keda` (pure).

Named like the component's Deployment, which it scales; KEDA then makes and owns an HPA of its
own (`keda-hpa-<name>`), told to leave our owner label off it. Triggers come from
`autoScaling.metrics` as upstream's raw mode maps them: Resource → a `cpu`/`memory` trigger;
External → a trigger of its backend (prometheus, graphite) with serverAddress, query,
threshold (`target.value`) and, for prometheus, namespace and a TriggerAuthentication;
PodMetric (opentelemetry) → KEDA's `external` trigger to the OTel scaler, its query summed over
this Deployment's pods. Where upstream writes something KEDA refuses, this builds what KEDA
takes instead: no metrics give a cpu trigger at the HPA class's default target (upstream: no
trigger), and maxReplicaCount is at least 1 (upstream: 0 with `minReplicas: 0` and no
maxReplicas).
"""

from __future__ import annotations

import copy
from typing import Any

from kserve_controller.api.component import (
    ExternalMetricSource,
    MetricsSpec,
    PodMetricSource,
    ResourceMetricSource,
)
from kserve_controller.build import activator
from kserve_controller.build.names import ISVC_LABEL
from kserve_controller.build.workload import DEFAULT_CPU_TARGET, Workload
from kserve_controller.config import AutoscalerConfig, ControllerConfig

Obj = dict[str, Any]

API_VERSION = "keda.sh/v1alpha1"
KIND = "ScaledObject"
PLURAL = "scaledobjects"
CRD = "scaledobjects.keda.sh"
# Annotations KEDA reads on a ScaledObject (pause, HPA ownership transfer ...): passed through
# from the InferenceService and its component.
KEDA_DOMAIN = "keda.sh"
# KEDA copies a ScaledObject's labels onto the HPA it makes, but for these: without our owner
# label, KEDA's HPA is not one of the objects this controller watches as its own.
EXCLUDED_LABELS = "scaledobject.keda.sh/hpa-excluded-labels"


def build(work: Workload, *, config: ControllerConfig) -> Obj:
    scaling = work.scaling
    minimum = scaling.min_replicas if scaling.min_replicas is not None else 1
    maximum = max(scaling.max_replicas or 0, minimum, 1)
    metadata = copy.deepcopy(work.object_metadata)
    passed = {
        key: value
        for key, value in (work.metadata.get("annotations") or {}).items()
        if key.partition("/")[0].endswith(KEDA_DOMAIN)
    }
    excluded = [k for k in passed.get(EXCLUDED_LABELS, "").split(",") if k]
    if ISVC_LABEL not in excluded:
        excluded.append(ISVC_LABEL)
    metadata["annotations"] = {**passed, EXCLUDED_LABELS: ",".join(excluded)}
    namespace = str(metadata["namespace"])
    held = activator.holds(scaling, config)
    spec: Obj = {
        "scaleTargetRef": {"name": work.name},
        "minReplicaCount": minimum,
        "maxReplicaCount": maximum,
        "triggers": triggers(
            scaling.metrics or (),
            namespace=namespace,
            deployment=work.name,
            config=config,
            default_cpu=not held,
        ),
    }
    if held:
        spec = activator.scaled_object(
            spec, scaling=scaling, namespace=namespace, target=work.name, config=config
        )
    wanted = behavior(scaling.behavior, config.autoscaler)
    if wanted:
        spec["advanced"] = {"horizontalPodAutoscalerConfig": {"behavior": wanted}}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


def triggers(
    metrics: tuple[MetricsSpec, ...] | list[MetricsSpec],
    *,
    namespace: str,
    deployment: str,
    config: ControllerConfig,
    default_cpu: bool = True,
) -> list[Obj]:
    """One KEDA trigger per metric, in order; a cpu one when there are none (unless the
    activator's concurrency trigger is the default)."""
    out: list[Obj] = []
    for metric in metrics:
        if metric.type == "Resource" and metric.resource is not None:
            out.append(_resource(metric.resource))
        elif metric.type == "External" and metric.external is not None:
            out.append(_external(metric.external))
        elif metric.type == "PodMetric" and metric.podmetric is not None:
            out.append(_pod_metric(metric.podmetric, namespace, deployment, config=config))
    if not out and default_cpu:
        default = {"value": str(DEFAULT_CPU_TARGET)}
        out.append({"type": "cpu", "metricType": "Utilization", "metadata": default})
    return out


def _resource(source: ResourceMetricSource) -> Obj:
    target = source.target
    kind = target.type or "Utilization"
    value = "0"
    if kind == "Utilization":
        percent = target.average_utilization
        if percent is None and source.name == "cpu":
            percent = DEFAULT_CPU_TARGET
        value = str(percent) if percent is not None else "0"
    elif kind == "AverageValue":
        value = quantity(target.average_value)
    elif kind == "Value":
        value = quantity(target.value)
    return {"type": source.name, "metricType": kind, "metadata": {"value": value}}


def _external(source: ExternalMetricSource) -> Obj:
    metric = source.metric
    backend = metric.backend or "prometheus"
    metadata = {
        "serverAddress": metric.server_address or "",
        "query": metric.query or "",
        "threshold": quantity(source.target.value),
    }
    if backend == "prometheus" and metric.namespace:
        metadata["namespace"] = metric.namespace
    trigger: Obj = {"type": backend, "metadata": metadata}
    auth = source.authentication
    if auth is not None:
        if auth.auth_modes:
            metadata["authModes"] = auth.auth_modes
        if auth.authentication_ref.name:
            trigger["authenticationRef"] = {"name": auth.authentication_ref.name}
    return trigger


def _pod_metric(
    source: PodMetricSource, namespace: str, deployment: str, *, config: ControllerConfig
) -> Obj:
    """KEDA's OTel add-on is an `external` scaler; the query is narrowed to this Deployment's
    pods so two InferenceServices exporting one metric name do not scale on each other."""
    metric = source.metric
    address = metric.server_address or config.opentelemetry_collector.metric_scaler_endpoint
    query = f'sum({metric.query or ""}{{namespace="{namespace}", deployment="{deployment}"}})'
    metadata = {
        "metricQuery": query,
        "targetValue": quantity(source.target.value),
        "scalerAddress": address,
    }
    if metric.operation_over_time:
        metadata["operationOverTime"] = metric.operation_over_time
    return {"type": "external", "metadata": metadata}


def behavior(own: Obj | None, defaults: AutoscalerConfig) -> Obj:
    """The HPA behavior KEDA's HPA gets: the component's autoScaling.behavior as written, with
    the ConfigMap's stabilization windows where it sets none (upstream reads only the windows)."""
    out = copy.deepcopy(own or {})
    for direction, seconds in (
        ("scaleUp", defaults.scale_up_stabilization_window_seconds),
        ("scaleDown", defaults.scale_down_stabilization_window_seconds),
    ):
        rules = out.get(direction) or {}
        if rules.get("stabilizationWindowSeconds") is None and seconds:
            out[direction] = {**rules, "stabilizationWindowSeconds": int(seconds)}
    return out


def quantity(value: str | int | float | None) -> str:
    """A target as KEDA's metadata takes it: the quantity as written ("0" when absent)."""
    if value is None:
        return "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
