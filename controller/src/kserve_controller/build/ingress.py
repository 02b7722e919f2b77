"""Ingress `<isvc>` and the URLs users see, from the config's domain and template."""

from __future__ import annotations

from typing import Any

from kserve_controller.build import activator, names, template, workload
from kserve_controller.config import ControllerConfig, IngressConfig
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

VISIBILITY_LABEL = "networking.kserve.io/visibility"
CLUSTER_LOCAL = "svc.cluster.local"


def cluster_local(isvc: Isvc, config: ControllerConfig) -> bool:
    return (
        isvc.labels.get(VISIBILITY_LABEL) == "cluster-local"
        or config.ingress.ingress_domain == CLUSTER_LOCAL
    )


def wanted(isvc: Isvc, config: ControllerConfig) -> bool:
    """An Ingress object is made unless disabled in the config or the isvc is cluster-local."""
    return not config.ingress.disable_ingress_creation and not cluster_local(isvc, config)


def host(isvc: Isvc, *, name: str, ingress: IngressConfig) -> str:
    data = {
        "Name": name,
        "Namespace": isvc.namespace,
        "IngressDomain": ingress.ingress_domain,
        "Labels": isvc.labels,
        "Annotations": isvc.annotations,
    }
    return str(template.render(ingress.domain_template, data=data))


def url(isvc: Isvc, config: ControllerConfig, *, service: Obj | None = None) -> str:
    """`status.url`: the external URL, or the cluster address when cluster-local."""
    if cluster_local(isvc, config):
        return address_url(isvc, service=service)
    return f"{config.ingress.url_scheme}://{host(isvc, name=isvc.name, ingress=config.ingress)}"


def entry(isvc: Isvc) -> str:
    """The Service that takes the InferenceService's traffic: the transformer when there is one."""
    return names.component(isvc, "transformer" if "transformer" in isvc.extras else "predictor")


def address_url(isvc: Isvc, *, service: Obj | None = None) -> str:
    """`status.address.url`: the entry Service's cluster address. A headless Service (the
    config's `serviceClusterIPNone`) has no port 80 to map, so its first non-gRPC target port
    is named, as upstream does (8080 when it lists none)."""
    address = f"http://{entry(isvc)}.{isvc.namespace}.svc.cluster.local"
    spec = (service or {}).get("spec") or {}
    if spec.get("clusterIP") != "None":
        return address
    http = [
        p.get("targetPort", p.get("port"))
        for p in spec.get("ports") or []
        if not any(tag in (p.get("name") or "") for tag in ("grpc", "h2c"))
    ]
    return f"{address}:{http[0] if http else workload.DEFAULT_PORT}"


def component_url(isvc: Isvc, part: str, config: ControllerConfig) -> str:
    """`status.components.<part>.url`: the domain template over the component's name
    (`http://<isvc>-predictor-<ns>.<domain>`), its cluster address when cluster-local.

    Always http, as upstream's raw mode: `urlScheme` applies to `status.url` alone.
    """
    name = names.component(isvc, part)
    if cluster_local(isvc, config):
        return f"http://{name}.{isvc.namespace}.svc.cluster.local"
    return f"http://{host(isvc, name=name, ingress=config.ingress)}"


def routes(isvc: Isvc, config: ControllerConfig) -> list[tuple[str, str]]:
    """(host, Service): the InferenceService's host to its entry, each component's to itself."""
    parts = ["predictor", *(p for p in ("transformer", "explainer") if p in isvc.extras)]
    out = [(host(isvc, name=isvc.name, ingress=config.ingress), entry(isvc))]
    for part in parts:
        name = names.component(isvc, part)
        out.append((host(isvc, name=name, ingress=config.ingress), name))
    return out


def backend(isvc: Isvc, service: str, config: ControllerConfig) -> str:
    """The Service a route to the component `service` goes to: the component's own, or its
    `-activator` Service when the activator stands in front of it (build/activator.py)."""
    for part in isvc.parts:
        if names.workload(part) == service and activator.wanted(part, config):
            return activator.name(part)
    return service


def build(isvc: Isvc, *, config: ControllerConfig) -> Obj:
    rules = [
        {
            "host": h,
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {
                            "service": {
                                "name": backend(isvc, service, config),
                                "port": {"number": workload.SERVICE_PORT},
                            }
                        },
                    }
                ]
            },
        }
        for h, service in routes(isvc, config)
    ]
    spec: Obj = {"rules": rules}
    if config.ingress.ingress_class_name:
        spec["ingressClassName"] = config.ingress.ingress_class_name
    annotations = {
        k: v for k, v in isvc.annotations.items() if k not in names.DISALLOWED_ANNOTATIONS
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": names.metadata(
            isvc,
            name=isvc.name,
            labels={names.ISVC_LABEL: isvc.name},
            annotations=annotations,
        ),
        "spec": spec,
    }
