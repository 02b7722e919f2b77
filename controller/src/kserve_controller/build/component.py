"""One component of an InferenceService (predictor, transformer or explainer) as a workload:
`<isvc>-predictor` and its kin, with the runtime's container, the model download and the
component's pod fields."""

from __future__ import annotations

import copy
from typing import Any

from kserve_controller.build import container, credentials, names, storage_initializer, workload
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


def objects(
    isvc: Isvc,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None = None,
) -> list[Obj]:
    """The component's Service, Deployment and (unless its autoscaler class says no) HPA."""
    work = _workload(isvc, runtime=runtime, config=config, sources=sources)
    main = work.pod["containers"][0]
    out = [
        workload.service(
            work,
            ports=workload.service_ports(work.name, main),
            headless=config.service.service_cluster_ip_none,
        ),
        workload.deployment(work, rollout=config.deploy.default_rollout),
    ]
    if work.scaling.wants_hpa:
        out.append(workload.hpa(work))
    return out


def scaling(isvc: Isvc) -> workload.Scaling:
    auto = (isvc.predictor.get("autoScaling") or {}).get("metrics")
    return workload.Scaling(
        autoscaler_class=isvc.autoscaler_class,
        min_replicas=_int(isvc.predictor.get("minReplicas")),
        max_replicas=_int(isvc.predictor.get("maxReplicas")),
        metric=isvc.predictor.get("scaleMetric"),
        target=_int(isvc.predictor.get("scaleTarget")),
        resource_metrics=(
            tuple(m["resource"] for m in auto if m.get("type") == "Resource") if auto else None
        ),
    )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _workload(
    isvc: Isvc,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None,
) -> workload.Workload:
    name = names.workload(isvc)
    runtime_spec = runtime.spec if runtime else {}
    disallowed_labels = config.inference_service.service_label_disallowed_list
    labels = names.labels(
        isvc, runtime_labels=runtime_spec.get("labels"), disallowed=disallowed_labels
    )
    annotations = names.annotations(
        isvc,
        runtime_annotations=runtime_spec.get("annotations"),
        disallowed=config.inference_service.service_annotation_disallowed_list,
    )
    pod_metadata: Obj = {"labels": dict(labels)}
    if annotations:
        pod_metadata["annotations"] = dict(annotations)
    scale = scaling(isvc)
    return workload.Workload(
        metadata=names.metadata(isvc, name=name, labels=labels, annotations=annotations),
        object_metadata=names.metadata(
            isvc, name=name, labels=names.labels(isvc, disallowed=disallowed_labels)
        ),
        app=names.app(isvc),
        pod=pod(isvc, runtime=runtime, config=config, sources=sources),
        pod_metadata=pod_metadata,
        scaling=scale,
        # No HPA: the replica count is the user's minReplicas (0 allowed).
        replicas=(scale.min_replicas if scale.min_replicas is not None else 1)
        if scale.autoscaler_class == "none"
        else None,
        strategy=isvc.predictor.get("deploymentStrategy"),
    )


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
