"""Pure builders: an InferenceService, its runtime and the config in; manifests out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kserve_controller.build import credentials, deployment, hpa, ingress, names, service
from kserve_controller.config import ControllerConfig
from kserve_controller.runtimes import Runtime
from kserve_controller.spec import Isvc

Obj = dict[str, Any]


@dataclass(frozen=True)
class Desired:
    """The objects to apply, in order, and the owned objects that should not exist."""

    objects: list[Obj]
    unwanted: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)


def all_objects(
    isvc: Isvc,
    *,
    runtime: Runtime | None,
    config: ControllerConfig,
    sources: credentials.Sources | None = None,
) -> Desired:
    """Service, then Deployment, then HPA and Ingress when wanted (upstream's order).

    `sources`: the service account and Secrets already fetched for storage credentials.
    """
    deploy = deployment.build(isvc, runtime=runtime, config=config, sources=sources)
    main = deploy["spec"]["template"]["spec"]["containers"][0]
    objects = [service.build(isvc, main_container=main, config=config), deploy]
    unwanted: list[tuple[str, str]] = []
    if hpa.wanted(isvc):
        objects.append(hpa.build(isvc, config=config))
    else:
        unwanted.append(("HorizontalPodAutoscaler", names.predictor(isvc)))
    if ingress.wanted(isvc, config):
        objects.append(ingress.build(isvc, config=config))
    else:
        unwanted.append(("Ingress", isvc.name))
    return Desired(objects=objects, unwanted=unwanted)
