"""Ingress `<isvc>` and the URLs users see, from the config's domain and template."""

from __future__ import annotations

from typing import Any

from kserve_controller.build import names, template
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


def url(isvc: Isvc, config: ControllerConfig) -> str:
    """`status.url`: the external URL, or the cluster address when cluster-local."""
    if cluster_local(isvc, config):
        return address_url(isvc)
    return f"{config.ingress.url_scheme}://{host(isvc, name=isvc.name, ingress=config.ingress)}"


def address_url(isvc: Isvc) -> str:
    return f"http://{names.predictor(isvc)}.{isvc.namespace}.svc.cluster.local"


def build(isvc: Isvc, *, config: ControllerConfig) -> Obj:
    service = names.predictor(isvc)
    hosts = [
        host(isvc, name=isvc.name, ingress=config.ingress),
        host(isvc, name=service, ingress=config.ingress),
    ]
    rules = [
        {
            "host": h,
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": service, "port": {"number": 80}}},
                    }
                ]
            },
        }
        for h in hosts
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
