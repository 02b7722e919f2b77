"""Service `<isvc>-predictor`: port 80 to the model server's port."""

from __future__ import annotations

from typing import Any

from kserve_controller.build import names
from kserve_controller.config import ControllerConfig
from kserve_controller.spec import Isvc

Obj = dict[str, Any]


def build(isvc: Isvc, *, main_container: Obj, config: ControllerConfig) -> Obj:
    name = names.workload(isvc)
    labels = names.labels(isvc, disallowed=config.inference_service.service_label_disallowed_list)
    spec: Obj = {
        "selector": {"app": names.app(isvc)},
        "ports": _ports(name, main_container),
    }
    if config.service.service_cluster_ip_none:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": names.metadata(isvc, name=name, labels=labels),
        "spec": spec,
    }


def _ports(name: str, main: Obj) -> list[Obj]:
    declared = main.get("ports") or []
    if not declared:
        return [{"name": name, "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    first = declared[0]
    port_name = first.get("name") or name
    ports: list[Obj] = [
        {
            "name": port_name,
            "port": 80,
            "targetPort": first["containerPort"],
            "protocol": first.get("protocol", "TCP"),
        }
    ]
    if "grpc" in port_name or "h2c" in port_name:
        ports[0]["appProtocol"] = "kubernetes.io/h2c"
    for extra in declared[1:]:
        ports.append(
            {
                "name": extra.get("name") or f"port-{extra['containerPort']}",
                "port": extra["containerPort"],
                "targetPort": extra["containerPort"],
                "protocol": extra.get("protocol", "TCP"),
            }
        )
    return ports
