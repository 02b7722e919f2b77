"""Pure builders: an InferenceService, its runtime and the config in; manifests out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kserve_controller import spec
from kserve_controller.build import component, credentials, ingress, names
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
    sources: dict[str, credentials.Sources] | None = None,
    logger_sources: dict[str, credentials.Sources] | None = None,
) -> Desired:
    """Per component (predictor, transformer, explainer): Service, Deployment, HPA; then the
    Ingress (upstream's order). The objects of a component the spec no longer has are unwanted.

    `sources`: per component, the service account and Secrets fetched for storage credentials;
    `logger_sources`: per component, those of its logger's storage.
    """
    objects: list[Obj] = []
    unwanted: list[tuple[str, str]] = []
    for part in spec.components(isvc):
        objects += component.objects(
            part,
            runtime=runtime if part.kind == "predictor" else None,
            config=config,
            sources=(sources or {}).get(part.kind),
            logger_sources=(logger_sources or {}).get(part.kind),
        )
        if not part.scaling.wants_hpa:
            unwanted.append(("HorizontalPodAutoscaler", names.workload(part)))
    for gone in (c for c in spec.EXTRA_COMPONENTS if c not in isvc.extras):
        name = names.component(isvc, gone)
        unwanted += [(k, name) for k in ("Deployment", "Service", "HorizontalPodAutoscaler")]
    if ingress.wanted(isvc, config):
        objects.append(ingress.build(isvc, config=config))
    else:
        unwanted.append(("Ingress", isvc.name))
    return Desired(objects=objects, unwanted=unwanted)
