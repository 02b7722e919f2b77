"""Pure builders: an InferenceService, its runtime and the config in; manifests out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kserve_controller import spec
from kserve_controller.build import (
    activator,
    agent,
    canary,
    component,
    credentials,
    httproute,
    ingress,
    names,
    revisions,
    scaledobject,
)
from kserve_controller.config import ControllerConfig
from kserve_controller.runtimes import Runtime
from kserve_controller.spec import Isvc

Obj = dict[str, Any]
# What a component runs as; one scaler at most (HPA or ScaledObject, by autoscaler class).
WORKLOAD_KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler", scaledobject.KIND)


@dataclass(frozen=True)
class Desired:
    """The objects to apply, in order, and the owned objects that should not exist."""

    objects: list[Obj]
    unwanted: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    held: set[tuple[str, str]] = field(default_factory=set)  # not to create or update yet
    weights: dict[str, int] | None = None  # predictor Service -> percent the routes carry
    traffic: list[Obj] | None = None  # status.components.predictor.traffic


def all_objects(
    isvc: Isvc,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: dict[str, credentials.Sources] | None = None,
    logger_sources: dict[str, credentials.Sources] | None = None,
    latest: Obj | None = None,
    prev: Obj | None = None,
) -> Desired:
    """Per component (predictor, transformer, explainer): Service, Deployment, its scaler; then per
    canary the same for its predictor; then the Ingress, or in Gateway API mode the
    HTTPRoutes (upstream's order). The objects of a component the spec no longer has are
    unwanted; so is the Ingress in Gateway API mode and the HTTPRoutes otherwise.

    `sources`: per component, the service account and Secrets fetched for storage credentials;
    `logger_sources`: per component, those of its logger's storage; `latest`, `prev`: the
    predictor's Deployment and its frozen copy as observed (canaryTrafficPercent).
    """
    objects: list[Obj] = []
    unwanted: list[tuple[str, str]] = []
    stable = canary.stable(isvc)
    parts = [(p, False) for p in spec.components(stable)]
    parts += [(spec.predictor(c), True) for c in canary.canaries(isvc)]
    for part, is_canary in parts:
        objects += component.objects(
            part,
            runtime=runtime if part.kind == "predictor" else None,
            config=config,
            sources=(sources or {}).get(part.kind),
            logger_sources=(logger_sources or {}).get(part.kind),
            endpoint=canary.ENDPOINT if is_canary else agent.ENDPOINT,
        )
        if not part.scaling.wants_hpa:
            unwanted.append(("HorizontalPodAutoscaler", names.workload(part)))
        if not part.scaling.wants_keda:
            unwanted.append((scaledobject.KIND, names.workload(part)))
        if is_canary:
            continue
        if activator.wanted(part, config):
            hosts = [h for h, s in ingress.routes(isvc, config) if s == names.workload(part)]
            if not ingress.wanted(isvc, config) or httproute.wanted(isvc, config):
                hosts = []
            objects.append(activator.service(part, hosts=hosts, config=config))
        else:
            unwanted.append(("Service", activator.name(part)))
    for gone in (c for c in spec.EXTRA_COMPONENTS if c not in isvc.extras):
        name = names.component(isvc, gone)
        unwanted += [(k, name) for k in WORKLOAD_KINDS]
        unwanted.append(("Service", name + activator.SUFFIX))
    routes = [(httproute.KIND, n) for n in httproute.every_name(isvc)]
    if not httproute.wanted(isvc, config):
        if ingress.wanted(isvc, config):
            objects.append(ingress.build(isvc, config=config))
        else:
            unwanted.append(("Ingress", isvc.name))
        return Desired(objects=objects, unwanted=unwanted + routes)
    weights = canary.weights(isvc)
    rollout = revisions.Rollout()
    if revisions.percent(isvc) is not None or prev is not None:
        latest_name = names.predictor(isvc)
        mine = {(o["kind"], o["metadata"]["name"]): o for o in objects}
        rollout = revisions.plan(
            isvc,
            desired=mine[("Deployment", latest_name)],
            service=mine[("Service", latest_name)],
            latest=latest,
            prev=prev,
        )
        objects += rollout.objects
        weights = rollout.weights or weights
    built = httproute.build_all(isvc, config=config, weights=weights)
    made = {o["metadata"]["name"] for o in built}
    unwanted += [("Ingress", isvc.name), *(r for r in routes if r[1] not in made)]
    return Desired(
        objects=objects + built,
        unwanted=unwanted,
        held={("Deployment", names.predictor(isvc))} if rollout.hold_latest else set(),
        weights=weights,
        traffic=rollout.traffic,
    )
