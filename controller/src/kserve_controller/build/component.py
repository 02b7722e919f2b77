"""One component of an InferenceService (predictor, transformer or explainer) as a workload:
`<isvc>-predictor` and its kin, with the runtime's container, the model download and the
component's pod fields."""

from __future__ import annotations

import copy
from typing import Any

from kserve_controller.build import (
    agent,
    container,
    credentials,
    names,
    prometheus,
    scaledobject,
    storage_initializer,
    workload,
)
from kserve_controller.config import ControllerConfig
from kserve_controller.runtimes import Runtime
from kserve_controller.spec import Component, Scaling

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
    part: Component,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None = None,
    logger_sources: credentials.Sources | None = None,
    endpoint: str = agent.ENDPOINT,
) -> list[Obj]:
    """The component's Service, Deployment and its autoscaler class's scaler: an HPA (hpa),
    a KEDA ScaledObject (keda), or none (none, external).

    `logger_sources`: the logger storage's service account and Secrets, when it has storage;
    `endpoint`: what its logged events say it is (`default`, or `canary` for a canary).
    """
    work = _workload(
        part,
        runtime=runtime,
        config=config,
        sources=sources,
        logger_sources=logger_sources,
        endpoint=endpoint,
    )
    main = work.pod["containers"][0]
    ports = workload.service_ports(work.name, main)
    if agent.sidecar(part, runtime, config=config):
        ports = agent.service_ports(ports)
    out = [
        workload.service(work, ports=ports, headless=config.service.service_cluster_ip_none),
        workload.deployment(work, rollout=config.deploy.default_rollout),
    ]
    if work.scaling.wants_hpa:
        out.append(workload.hpa(work))
    elif work.scaling.wants_keda:
        out.append(scaledobject.build(work, config=config))
    return out


def _workload(
    part: Component,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None,
    logger_sources: credentials.Sources | None,
    endpoint: str,
) -> workload.Workload:
    name = names.workload(part)
    runtime_spec = runtime.spec if runtime else {}
    disallowed_labels = config.inference_service.service_label_disallowed_list
    labels = names.labels(
        part, runtime_labels=runtime_spec.get("labels"), disallowed=disallowed_labels
    )
    annotations = names.annotations(
        part,
        runtime_annotations=runtime_spec.get("annotations"),
        disallowed=config.inference_service.service_annotation_disallowed_list,
    )
    the_pod = pod(
        part,
        runtime=runtime,
        config=config,
        sources=sources,
        logger_sources=logger_sources,
        endpoint=endpoint,
    )
    scraped = prometheus.scrape_annotations(
        annotations, main=the_pod["containers"][0], config=config
    )
    pod_metadata: Obj = {"labels": dict(labels)}
    if annotations or scraped:
        pod_metadata["annotations"] = {**annotations, **scraped}
    scale = part.scaling
    return workload.Workload(
        metadata=names.metadata(part, name=name, labels=labels, annotations=annotations),
        object_metadata=names.metadata(
            part, name=name, labels=names.labels(part, disallowed=disallowed_labels)
        ),
        app=names.app(part),
        pod=the_pod,
        pod_metadata=pod_metadata,
        scaling=scale,
        replicas=_fixed_replicas(scale),
        strategy=part.spec.deployment_strategy,
    )


def pod(
    part: Component,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None = None,
    logger_sources: credentials.Sources | None = None,
    endpoint: str = agent.ENDPOINT,
) -> Obj:
    """`sources`: the service account and Secrets fetched for storage credentials;
    `logger_sources`: those of the logger's storage; `endpoint`: see `objects`."""
    containers = container.predictor_containers(
        part, runtime=runtime, defaults=config.inference_service.resource
    )
    creds = None
    if sources is not None or part.storage_spec is not None:
        creds = credentials.inject(
            part, sources or credentials.Sources(), config=config.credentials
        )
    storage = storage_initializer.plan(part, config=config.storage_initializer, credentials=creds)
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
        if part.pod.get(key) is not None:
            spec[key] = copy.deepcopy(part.pod[key])
    if not config.security.auto_mount_service_account_token:
        spec.setdefault("automountServiceAccountToken", False)
    init = [*copy.deepcopy(part.spec.init_containers or []), *storage.init_containers]
    if init:
        spec["initContainers"] = init
    volumes = container.merge_list(
        copy.deepcopy(runtime_spec.get("volumes") or []),
        [*(part.spec.volumes or []), *storage.volumes],
        "name",
    )
    if volumes:
        spec["volumes"] = volumes
    logger_creds = None
    if logger_sources is not None:
        logger_creds = credentials.from_account(part, logger_sources, config=config.credentials)
    return agent.apply(
        part,
        spec,
        runtime=runtime,
        config=config,
        storage_credentials=logger_creds,
        endpoint=endpoint,
    )


def _fixed_replicas(scale: Scaling) -> int | None:
    """No HPA: the replica count is the user's minReplicas (default 1, 0 allowed)."""
    if scale.autoscaler_class != "none":
        return None
    return scale.min_replicas if scale.min_replicas is not None else 1
