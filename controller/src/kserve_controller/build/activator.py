"""Scale to zero and back: the objects that put the shared activator in front of a component
KEDA may take to zero pods (autoscalerClass keda, minReplicas 0), pure.

The Ingress sends such a component's hosts to `<workload>-activator`, an ExternalName Service
naming the activator (the config's `activator.host`). The activator finds the component from
the request's Host through this Service's annotations (it watches Services with ACTIVATOR_LABEL),
holds the request until the component's own Service `<workload>` accepts a connection, and
forwards it there. KEDA reads the component's held and in-flight requests from the activator
(a metrics-api trigger): above zero wakes it, zero for `idleSeconds` sends it back to zero.

The names below are also read by the activator (kserve_server.activator.routes); a unit test
keeps the two lists equal.
"""

from __future__ import annotations

import copy
from typing import Any

from kserve_controller.build import names, workload
from kserve_controller.config import ControllerConfig
from kserve_controller.spec import Component, Scaling

Obj = dict[str, Any]

LABEL = "internal.serving.kserve.io/activator"  # "true" on every activator Service
TARGET_ANNOTATION = "internal.serving.kserve.io/activator-target"  # the workload's Service
HOSTS_ANNOTATION = "internal.serving.kserve.io/activator-hosts"  # comma-separated
SUFFIX = "-activator"
TRIGGER_NAME = "activator"
VALUE_LOCATION = "concurrency"


def wanted(part: Component, config: ControllerConfig) -> bool:
    """An activator in front: the component may go to zero and the chart runs an activator."""
    return holds(part.scaling, config)


def holds(scaling: Scaling, config: ControllerConfig) -> bool:
    return scaling.scales_to_zero and bool(config.activator.host)


def name(part: Component) -> str:
    return names.workload(part) + SUFFIX


def service(part: Component, *, hosts: list[str], config: ControllerConfig) -> Obj:
    """`<workload>-activator`: DNS for the activator, the Ingress's backend for `hosts`."""
    target = names.workload(part)
    labels = {names.ISVC_LABEL: part.name, names.COMPONENT_LABEL: part.kind, LABEL: "true"}
    metadata = names.metadata(
        part,
        name=name(part),
        labels=labels,
        annotations={TARGET_ANNOTATION: target, HOSTS_ANNOTATION: ",".join(hosts)},
    )
    port = workload.port("http", workload.SERVICE_PORT, workload.SERVICE_PORT)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "ExternalName",
            "externalName": config.activator.host,
            "ports": [port],
        },
    }


def load_url(config: ControllerConfig, *, namespace: str, target: str) -> str:
    """Where the activator answers the held and in-flight requests of one component."""
    return f"{config.activator.metrics_url.rstrip('/')}/load/{namespace}/{target}"


def scaled_object(
    spec: Obj, *, scaling: Scaling, namespace: str, target: str, config: ControllerConfig
) -> Obj:
    """A ScaledObject's spec with the activator's trigger: active (wake from zero) while a
    request is held or in flight, `targetConcurrency` of them per replica; KEDA polls it every
    `pollingIntervalSeconds` and takes the component to zero after `idleSeconds` (the
    component's annotation, else the config's) with none."""
    out = copy.deepcopy(spec)
    trigger = {
        "type": "metrics-api",
        "name": TRIGGER_NAME,
        "metadata": {
            "url": load_url(config, namespace=namespace, target=target),
            "valueLocation": VALUE_LOCATION,
            "targetValue": str(config.activator.target_concurrency),
            "activationTargetValue": "0",
            # every activator replica counts its own requests: KEDA asks each and adds them up
            "aggregateFromKubeServiceEndpoints": "true",
            "aggregationType": "sum",
        },
    }
    out["triggers"] = [*out.get("triggers", []), trigger]
    out["pollingInterval"] = config.activator.polling_interval_seconds
    own = scaling.idle_seconds
    out["cooldownPeriod"] = own if own is not None else config.activator.idle_seconds
    return out
