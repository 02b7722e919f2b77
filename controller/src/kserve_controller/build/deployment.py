"""Deployment `<isvc>-predictor`: the runtime's container, the model download, the pod fields."""

from __future__ import annotations

import copy
from typing import Any

from kserve_controller.build import container, credentials, names, storage_initializer
from kserve_controller.config import ControllerConfig
from kserve_controller.runtimes import Runtime
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

# PodSpec fields of the predictor passed to the pod as written.
POD_FIELDS = (
    "serviceAccountName",
    "nodeSelector",
    "affinity",
    "tolerations",
    "imagePullSecrets",
    "securityContext",
    "automountServiceAccountToken",
    "priorityClassName",
    "runtimeClassName",
    "topologySpreadConstraints",
    "hostIPC",
    "hostAliases",
    "dnsPolicy",
    "dnsConfig",
    "schedulerName",
    "terminationGracePeriodSeconds",
    "enableServiceLinks",
    "shareProcessNamespace",
    "resources",
)
# Pod-level defaults a runtime may carry; the InferenceService's own value wins.
RUNTIME_POD_FIELDS = (
    "nodeSelector",
    "affinity",
    "tolerations",
    "imagePullSecrets",
    "schedulerName",
    "hostIPC",
)


def build(
    isvc: Isvc,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None = None,
) -> Obj:
    name = names.workload(isvc)
    runtime_spec = runtime.spec if runtime else {}
    labels = names.labels(
        isvc,
        runtime_labels=runtime_spec.get("labels"),
        disallowed=config.inference_service.service_label_disallowed_list,
    )
    annotations = names.annotations(
        isvc,
        runtime_annotations=runtime_spec.get("annotations"),
        disallowed=config.inference_service.service_annotation_disallowed_list,
    )
    template_meta: Obj = {"labels": dict(labels)}
    if annotations:
        template_meta["annotations"] = dict(annotations)
    spec: Obj = {
        "selector": {"matchLabels": {"app": names.app(isvc)}},
        "strategy": _strategy(isvc, config),
        "template": {
            "metadata": template_meta,
            "spec": pod(isvc, runtime=runtime, config=config, sources=sources),
        },
    }
    if isvc.autoscaler_class == "none":
        # No HPA: the replica count is the user's minReplicas (0 allowed).
        spec["replicas"] = int(isvc.predictor.get("minReplicas", 1) or 0)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": names.metadata(isvc, name=name, labels=labels, annotations=annotations),
        "spec": spec,
    }


def pod(
    isvc: Isvc,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None = None,
) -> Obj:
    """`sources`: the service account and Secrets fetched for storage credentials."""
    containers = container.predictor_containers(
        isvc, runtime=runtime, defaults=config.inference_service.resource
    )
    creds = None
    if sources is not None or isvc.storage_spec is not None:
        creds = credentials.inject(
            isvc, sources or credentials.Sources(), config=config.credentials
        )
    storage = storage_initializer.plan(isvc, config=config.storage_initializer, credentials=creds)
    if storage.mount is not None:
        main = containers[0]
        main["volumeMounts"] = container.merge_list(
            main.get("volumeMounts") or [], [storage.mount], "mountPath"
        )
    spec: Obj = {"containers": containers}
    runtime_spec = runtime.spec if runtime else {}
    for key in RUNTIME_POD_FIELDS:
        if runtime_spec.get(key) is not None:
            spec[key] = copy.deepcopy(runtime_spec[key])
    for key in POD_FIELDS:
        if isvc.predictor.get(key) is not None:
            spec[key] = copy.deepcopy(isvc.predictor[key])
    if not config.security.auto_mount_service_account_token:
        spec.setdefault("automountServiceAccountToken", False)
    init = [*copy.deepcopy(isvc.predictor.get("initContainers") or []), *storage.init_containers]
    if init:
        spec["initContainers"] = init
    volumes = container.merge_list(
        copy.deepcopy(runtime_spec.get("volumes") or []),
        [*(isvc.predictor.get("volumes") or []), *storage.volumes],
        "name",
    )
    if volumes:
        spec["volumes"] = volumes
    return spec


def _strategy(isvc: Isvc, config: ControllerConfig) -> Obj:
    if isvc.predictor.get("deploymentStrategy"):
        return copy.deepcopy(isvc.predictor["deploymentStrategy"])
    rollout = config.deploy.default_rollout
    surge, unavailable = (rollout.max_surge, rollout.max_unavailable) if rollout else ("25%", "25%")
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {
            "maxSurge": _int_or_str(surge),
            "maxUnavailable": _int_or_str(unavailable),
        },
    }


def _int_or_str(value: str) -> int | str:
    # IntOrString: "1" means one pod, "25%" a share; the apiserver keeps ints as ints.
    return int(value) if value.isdigit() else value
